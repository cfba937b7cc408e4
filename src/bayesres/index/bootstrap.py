"""Bayesian-bootstrap entropy weights (methods.md section 1.2 A) and the shared draw summariser.

Per draw s the units get Dirichlet(1, ..., 1) weights pi^(s) (Rubin 1981); in a panel every year of a
unit shares its unit's weight, which keeps the within-unit dependence. The EWM is evaluated on the pi-weighted
empirical distribution (``estimand="resample"``, see :func:`_group_weights`): per-unit sums are
taken once, then every chunk of draws needs three matrix products, so 10,000 draws on
248 x 10 x 17 take well under a second. methods.md's literal weighted-share formula
(``estimand="shares"``) goes through the lead's kernel
:func:`bayesres.index.entropy.entropy_from_normalised`. The min / max support stays at the observed
extremes (fixed support).

The frequentist twin is the exact EWM; its interval is the ordinary (multinomial) bootstrap over units,
computed with the same kernel. :func:`extremes_bootstrap_weights` also re-takes min / max in every
resample, to show how much the weights hang on the extreme units (min-max fragility).

:func:`summarise_index` turns any weight draws (bootstrap, Dirichlet sensitivity, factor model) into
the tidy twin tables, the labelled tables, the index draws for the regression and a DataTree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayesres.index.entropy import entropy_from_normalised, xlogx
from bayesres.index.ewm import (
    EntropyIndex,
    IndexArrays,
    rank_draws,
    row_scores,
    unit_mean,
)
from bayesres.summary import tidy_frame

__all__ = [
    "IndexDraws",
    "bootstrap_weights",
    "ordinary_bootstrap_weights",
    "extremes_bootstrap_weights",
    "summarise_index",
    "TOP_K",
    "ESTIMANDS",
]

TOP_K = (1, 3, 5, 10)
ESTIMANDS = ("resample", "shares")
_CHUNK = 2500


@dataclass
class IndexDraws:
    """Posterior (or resampling) draws of the weights, (draws, groups, m).

    ``unit_latent`` (draws, units), when given, ranks the units instead of the weighted score
    (the factor model ranks on its latent score xi).
    """

    weights: np.ndarray
    method: str
    unit_latent: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- resampling kernels


def _group_weights(
    z: np.ndarray, a: IndexArrays, unit_weights: np.ndarray, *, estimand: str = "resample"
) -> np.ndarray:
    """Entropy weights (draws, groups, m) for unit weights (draws, units), chunked over draws.

    ``estimand="resample"``: every row of unit i carries weight pi_i in the empirical distribution
    (rows of a unit share it), and the EWM is evaluated on that weighted distribution:
    e_j = 1 - k sum_r w_r (z_rj / mu_j) ln(z_rj / mu_j), mu_j = sum_r w_r z_rj, w_r = pi_i(r) / mass.
    With multinomial counts this *is* the EWM of the resampled table, so the Dirichlet version is
    Rubin's Bayesian bootstrap of the EWM functional, centred on the exact weights.
    ``estimand="shares"``: methods.md section 1.2 A's literal formula p = pi z / sum pi z
    (the lead's kernel), whose ln(pi) term adds share inequality to every indicator and pulls all
    weights toward 1/m; it reproduces the section 1.2 worked-example numbers.
    """
    if estimand not in ESTIMANDS:
        raise ValueError(f"estimand must be one of {ESTIMANDS}")
    s = unit_weights.shape[0]
    out = np.empty((s, a.n_groups, z.shape[1]))
    for g in range(a.n_groups):
        rows = a.group == g
        zg, cg = z[rows], a.unit_codes[rows]
        if estimand == "shares":
            for lo in range(0, s, _CHUNK):
                out[lo : lo + _CHUNK, g] = entropy_from_normalised(
                    zg, unit_weights=unit_weights[lo : lo + _CHUNK, :], clusters=cg
                )[2]
            continue
        # pre-aggregate per unit once; the draws then need only matrix products
        zc = np.zeros((a.n_units, z.shape[1]))
        zlz = np.zeros_like(zc)
        np.add.at(zc, cg, zg)
        np.add.at(zlz, cg, xlogx(zg))
        n_rows = np.bincount(cg, minlength=a.n_units).astype(float)
        k = 1.0 / np.log(zg.shape[0])
        for lo in range(0, s, _CHUNK):
            pi = unit_weights[lo : lo + _CHUNK]
            mass = (pi @ n_rows)[:, None]
            mu = (pi @ zc) / mass
            mzlz = (pi @ zlz) / mass
            with np.errstate(divide="ignore", invalid="ignore"):  # mu = 0: degenerate resample
                ent = 1.0 - k * (mzlz / mu - np.log(mu))
                d = 1.0 - ent
                out[lo : lo + _CHUNK, g] = d / d.sum(axis=-1, keepdims=True)
    return out


def bootstrap_weights(
    z: np.ndarray, a: IndexArrays, *, draws: int, seed: int, estimand: str = "resample"
) -> np.ndarray:
    """Bayesian-bootstrap entropy weights, (draws, groups, m); Dirichlet(1) over whole units."""
    rng = np.random.default_rng(seed)
    pi = rng.standard_gamma(1.0, size=(draws, a.n_units))
    pi /= pi.sum(axis=1, keepdims=True)
    return _group_weights(z, a, pi, estimand=estimand)


def ordinary_bootstrap_weights(
    z: np.ndarray, a: IndexArrays, *, draws: int, seed: int
) -> np.ndarray:
    """Ordinary (multinomial, whole-unit) bootstrap of the entropy weights, fixed min / max."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(a.n_units, np.full(a.n_units, 1.0 / a.n_units), size=draws)
    return _group_weights(z, a, counts.astype(float))


def extremes_bootstrap_weights(
    a: IndexArrays, *, draws: int, seed: int, shift: float, chunk: int = 100
) -> np.ndarray:
    """Ordinary bootstrap that re-takes min / max within each resample: (draws, groups, m).

    Costs draws x rows x m work (chunked), so callers keep ``draws`` moderate on big panels.
    A resample in which an indicator is constant gets that draw dropped (NaN row).
    """
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(a.n_units, np.full(a.n_units, 1.0 / a.n_units), size=draws)
    m = a.x.shape[1]
    out = np.full((draws, a.n_groups, m), np.nan)
    for g in range(a.n_groups):
        rows = a.group == g
        xg, cg = a.x[rows], a.unit_codes[rows]
        k = 1.0 / np.log(xg.shape[0])
        for lo in range(0, draws, chunk):
            c = counts[lo : lo + chunk][:, cg].astype(float)  # (c, rows)
            present = (c > 0)[:, :, None]
            xmin = np.where(present, xg[None], np.inf).min(axis=1)  # (c, m)
            xmax = np.where(present, xg[None], -np.inf).max(axis=1)
            rng_ = xmax - xmin
            ok = np.all(rng_ > 0, axis=1)
            rng_ = np.where(rng_ > 0, rng_, 1.0)
            zpos = (xg[None] - xmin[:, None]) / rng_[:, None]
            zneg = (xmax[:, None] - xg[None]) / rng_[:, None]
            zz = np.where(a.directions > 0, zpos, zneg) + shift
            zz = np.clip(zz, shift, None)  # rows outside the resample's range are weight-0 anyway
            om = c / c.sum(axis=1, keepdims=True)  # row weights of the resample
            mu = np.einsum("cr,crm->cm", om, zz)
            mzlz = np.einsum("cr,crm->cm", om, xlogx(zz))
            with np.errstate(divide="ignore", invalid="ignore"):
                ent = 1.0 - k * (mzlz / mu - np.log(mu))
                d = 1.0 - ent
                w = d / d.sum(axis=-1, keepdims=True)
            w[~ok] = np.nan
            out[lo : lo + chunk, g] = w
    return out


# --------------------------------------------------------------------------- summaries


def _matrix_rows(names: list[str], draws: np.ndarray, *, method: str, prob: float) -> list[dict]:
    """Tidy Bayesian rows for each column of a (draws, K) matrix: mean, sd, HDI, P(> 0)."""
    from arviz_stats.base import array_stats

    d = np.asarray(draws, dtype=float)
    hdi = np.asarray(array_stats.hdi(d, prob, axis=0)).reshape(d.shape[1], 2)
    mean, sd = d.mean(axis=0), d.std(axis=0, ddof=1)
    med, ppos = np.median(d, axis=0), (d > 0).mean(axis=0)
    rows = []
    for k, name in enumerate(names):
        term, _, group = name.partition("[")
        rows.append(
            {
                "quantity": name,
                "term": term,
                "group": group.rstrip("]"),
                "estimate": float(mean[k]),
                "std_error": float(sd[k]),
                "lower": float(hdi[k, 0]),
                "upper": float(hdi[k, 1]),
                "interval": "hdi",
                "level": prob,
                "method": method,
                "p_value": np.nan,
                "p_positive": float(ppos[k]),
                "median": float(med[k]),
            }
        )
    return rows


def _freq_rows(
    names: list[str], exact: np.ndarray, boot: np.ndarray | None, *, method: str, prob: float
) -> list[dict]:
    """Exact EWM values with ordinary-bootstrap SE and percentile interval (NaN without draws)."""
    if boot is not None:
        ok = np.all(np.isfinite(boot), axis=1)
        b = boot[ok]
        se = b.std(axis=0, ddof=1)
        lo, hi = np.quantile(b, [0.5 - prob / 2, 0.5 + prob / 2], axis=0)
    else:
        se = lo = hi = np.full(len(names), np.nan)
    rows = []
    for k, name in enumerate(names):
        term, _, group = name.partition("[")
        rows.append(
            {
                "quantity": name,
                "term": term,
                "group": group.rstrip("]"),
                "estimate": float(exact[k]),
                "std_error": float(se[k]),
                "lower": float(lo[k]),
                "upper": float(hi[k]),
                "interval": "ci",
                "level": prob,
                "method": method,
                "p_value": np.nan,
                "p_positive": np.nan,
            }
        )
    return rows


@dataclass
class _Derived:
    """Everything computed from (draws, groups, m) weights."""

    weights: np.ndarray  # (S, m) mean over groups
    dim_weights: np.ndarray  # (S, D)
    scores: np.ndarray  # (S, rows)
    unit_scores: np.ndarray  # (S, units)
    ranks: np.ndarray  # (S, units)
    tier_scores: np.ndarray | None  # (S, tiers)


def _derive(w: np.ndarray, exact: EntropyIndex, unit_latent: np.ndarray | None = None) -> _Derived:
    a = exact.arrays
    scores = row_scores(w, exact.z, a.group)
    if a.n_groups == 1:  # linear: the unit mean of scores is the score of the unit-mean z
        u = w[:, 0, :] @ unit_mean(exact.z.T, a.unit_codes, a.n_units)
    else:
        u = unit_mean(scores, a.unit_codes, a.n_units)
    ranks = rank_draws(u if unit_latent is None else unit_latent)
    wm = w.mean(axis=1)
    n_dim = len(a.dimensions)
    onehot = np.zeros((len(a.indicators), n_dim))
    onehot[np.arange(len(a.indicators)), a.dim_index] = 1.0
    tiers = None
    if a.tier_of_unit is not None:
        tmat = _tier_matrix(a)
        tiers = u @ tmat
    return _Derived(wm, wm @ onehot, scores, u, ranks, tiers)


def _tier_matrix(a: IndexArrays) -> np.ndarray:
    """(units, tiers) averaging matrix: column k averages the units of tier k."""
    assert a.tier_of_unit is not None
    levels = a.tiers or tuple(dict.fromkeys(a.tier_of_unit))
    tm = np.zeros((a.n_units, len(levels)))
    for i, t in enumerate(a.tier_of_unit):
        tm[i, levels.index(t)] = 1.0
    return tm / tm.sum(axis=0, keepdims=True)


def _names(exact: EntropyIndex) -> dict[str, list[str]]:
    a = exact.arrays
    out = {
        "weight": [f"weight[{i}]" for i in a.indicators],
        "dimension_weight": [f"dimension_weight[{d}]" for d in a.dimensions],
        "score": [f"score[{r}]" for r in exact.scores.index],
        "rank": [f"rank[{u}]" for u in a.units],
    }
    if a.times is not None:
        out["unit_score"] = [f"unit_score[{u}]" for u in a.units]
    if a.tier_of_unit is not None:
        out["tier_score"] = [f"tier_score[{t}]" for t in (a.tiers or dict.fromkeys(a.tier_of_unit))]
    return out


def _blocks(exact: EntropyIndex, d: _Derived) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(exact values, draws) per quantity block."""
    a = exact.arrays
    ex_ranks = exact.ranks.to_numpy()
    out = {
        "weight": (exact.weights.to_numpy(), d.weights),
        "dimension_weight": (exact.dimension_weights.to_numpy(), d.dim_weights),
        "score": (exact.scores.to_numpy(), d.scores),
        "rank": (ex_ranks, d.ranks),
    }
    if a.times is not None:
        out["unit_score"] = (exact.unit_scores.to_numpy(), d.unit_scores)
    if d.tier_scores is not None:
        out["tier_score"] = (exact.unit_scores.to_numpy() @ _tier_matrix(a), d.tier_scores)
    return out


def summarise_index(
    exact: EntropyIndex,
    draws: IndexDraws | None,
    *,
    freq_weights: np.ndarray | None,
    hdi_prob: float,
    save_draws: int,
    seed: int,
    extremes_weights: np.ndarray | None = None,
) -> dict:
    """Twin tidy tables, labelled tables, index draws and a DataTree from weight draws.

    ``freq_weights``: ordinary-bootstrap weights for the frequentist intervals (or None).
    Returns a dict with keys estimates, frequentist, tables, idata.
    """
    a = exact.arrays
    names = _names(exact)
    fd = _derive(freq_weights, exact) if freq_weights is not None else None
    fblocks = _blocks(exact, fd) if fd is not None else None
    nb = len(freq_weights) if freq_weights is not None else 0
    fmethod = f"EWM exact (percentile bootstrap over units, B={nb})" if nb else "EWM exact"
    frows: list[dict] = []
    for key, (ex, _) in _blocks(exact, _derive(exact.group_weights[None], exact)).items():
        boot = fblocks[key][1] if fblocks is not None else None
        frows += _freq_rows(names[key], ex, boot, method=fmethod, prob=hdi_prob)
    if a.panel == "per-year":
        for g, t in enumerate(a.group_labels):
            qn = [f"weight[{i},{t}]" for i in a.indicators]
            fb = freq_weights[:, g] if freq_weights is not None else None
            frows += _freq_rows(qn, exact.group_weights[g], fb, method=fmethod, prob=hdi_prob)
    out: dict = {"frequentist": tidy_frame(frows), "estimates": tidy_frame([])}
    tables = _exact_tables(exact)
    if draws is None:
        out.update(tables=tables, idata=None)
        return out

    d = _derive(draws.weights, exact, draws.unit_latent)
    blocks = _blocks(exact, d)
    brows: list[dict] = []
    for key, (_, dr) in blocks.items():
        brows += _matrix_rows(names[key], dr, method=draws.method, prob=hdi_prob)
    if a.panel == "per-year":
        for g, t in enumerate(a.group_labels):
            qn = [f"weight[{i},{t}]" for i in a.indicators]
            brows += _matrix_rows(qn, draws.weights[:, g], method=draws.method, prob=hdi_prob)
    est = tidy_frame(brows)
    out["estimates"] = est
    tables.update(_posterior_tables(exact, d, est, hdi_prob, extremes_weights))
    tables["index_draws"] = index_draws_table(a, d.unit_scores, m=save_draws, seed=seed)
    out["tables"] = tables
    out["idata"] = _datatree(exact, d)
    return out


def _exact_tables(exact: EntropyIndex) -> dict[str, pd.DataFrame]:
    a = exact.arrays
    scores = exact.score_table()
    if a.tier_of_unit is not None:
        scores.insert(1, "tier", np.asarray(a.tier_of_unit, dtype=object)[a.unit_codes])
    tables = {"weights": exact.weight_table(), "scores": scores}
    if a.panel == "per-year":
        pw = exact.entropy.copy()
        pw.loc[:, :] = exact.group_weights
        tables["weights_by_time"] = pw.rename_axis("time").reset_index()
    ranks = pd.DataFrame({"unit": a.units, "score": exact.unit_scores.to_numpy()})
    if a.tier_of_unit is not None:
        ranks.insert(1, "tier", a.tier_of_unit)
    ranks["rank"] = exact.ranks.to_numpy()
    tables["ranks"] = ranks
    return tables


def _lookup(est: pd.DataFrame, names: list[str], col: str) -> np.ndarray:
    s = est.set_index("quantity")[col]
    return s.loc[names].to_numpy()


def _posterior_tables(
    exact: EntropyIndex,
    d: _Derived,
    est: pd.DataFrame,
    prob: float,
    extremes: np.ndarray | None,
) -> dict[str, pd.DataFrame]:
    a = exact.arrays
    names = _names(exact)
    wt = exact.weight_table().rename(columns={"weight": "weight_exact"})
    for col, src in (
        ("mean", "estimate"),
        ("sd", "std_error"),
        ("lower", "lower"),
        ("upper", "upper"),
    ):
        wt[f"weight_{col}"] = _lookup(est, names["weight"], src)
    if extremes is not None:
        e = extremes.mean(axis=1)
        e = e[np.all(np.isfinite(e), axis=1)]
        wt["extremes_lower"], wt["extremes_upper"] = np.quantile(
            e, [0.5 - prob / 2, 0.5 + prob / 2], axis=0
        )
    dw = pd.DataFrame({"dimension": a.dimensions, "weight_exact": exact.dimension_weights})
    for col, src in (("mean", "estimate"), ("lower", "lower"), ("upper", "upper")):
        dw[f"weight_{col}"] = _lookup(est, names["dimension_weight"], src)
    scores = _exact_tables(exact)["scores"]
    scores["score_mean"] = d.scores.mean(axis=0)
    scores["score_lower"] = _lookup(est, names["score"], "lower")
    scores["score_upper"] = _lookup(est, names["score"], "upper")
    rk = _exact_tables(exact)["ranks"].rename(
        columns={"score": "score_exact", "rank": "rank_exact"}
    )
    rk["score_mean"] = d.unit_scores.mean(axis=0)
    lo, hi = np.quantile(d.unit_scores, [0.5 - prob / 2, 0.5 + prob / 2], axis=0)
    rk["score_lower"], rk["score_upper"] = lo, hi
    rk["rank_mean"] = d.ranks.mean(axis=0)
    rk["rank_median"] = np.median(d.ranks, axis=0)
    rlo, rhi = np.quantile(d.ranks, [0.5 - prob / 2, 0.5 + prob / 2], axis=0)
    rk["rank_lower"], rk["rank_upper"] = np.floor(rlo).astype(int), np.ceil(rhi).astype(int)
    for k in TOP_K:
        if k <= a.n_units:
            rk[f"p_top_{k}"] = (d.ranks <= k).mean(axis=0)
    tables = {"weights": wt, "dimension_weights": dw, "scores": scores, "ranks": rk}
    if d.tier_scores is not None:
        levels = a.tiers or tuple(dict.fromkeys(a.tier_of_unit or ()))
        tm = _tier_matrix(a)
        tl, th = np.quantile(d.tier_scores, [0.5 - prob / 2, 0.5 + prob / 2], axis=0)
        tables["tier_scores"] = pd.DataFrame(
            {
                "tier": levels,
                "n_units": (tm > 0).sum(axis=0),
                "score_exact": exact.unit_scores.to_numpy() @ tm,
                "score_mean": d.tier_scores.mean(axis=0),
                "score_lower": tl,
                "score_upper": th,
            }
        )
    return tables


def index_draws_table(
    a: IndexArrays, unit_scores: np.ndarray, *, m: int, seed: int
) -> pd.DataFrame:
    """Wide hand-off table: ``unit`` then ``draw_0`` .. ``draw_{M-1}`` (unit index score per draw).

    The M draws are a seeded subsample without replacement (all draws if fewer than M exist).
    In a panel the unit's score is its mean over the periods.
    """
    s = unit_scores.shape[0]
    if m <= 0:
        return pd.DataFrame({"unit": list(a.units)})
    rng = np.random.default_rng([seed, 7])
    pick = np.sort(rng.choice(s, size=min(m, s), replace=False))
    cols = {f"draw_{k}": unit_scores[p] for k, p in enumerate(pick)}
    return pd.DataFrame({"unit": list(a.units), **cols})


def _datatree(exact: EntropyIndex, d: _Derived):
    """Posterior DataTree (one chain) with weights, dimension weights, unit scores and ranks."""
    from arviz_base import from_dict

    a = exact.arrays
    post = {
        "weight": d.weights[None],
        "dimension_weight": d.dim_weights[None],
        "unit_score": d.unit_scores[None],
        "rank": d.ranks[None],
    }
    dims = {
        "weight": ["indicator"],
        "dimension_weight": ["dimension"],
        "unit_score": ["unit"],
        "rank": ["unit"],
    }
    coords = {
        "indicator": list(a.indicators),
        "dimension": list(a.dimensions),
        "unit": list(a.units),
    }
    if d.tier_scores is not None:
        post["tier_score"] = d.tier_scores[None]
        dims["tier_score"] = ["tier"]
        coords["tier"] = list(a.tiers or dict.fromkeys(a.tier_of_unit or ()))
    return from_dict({"posterior": post}, dims=dims, coords=coords)
