"""Simulation-based calibration (Talts et al. 2018, arXiv 1804.06788; Modrák et al. 2023).

Per simulation: draw (theta*, y) from the calibration model's prior simulator, fit the model to y
(nutpie, compiled once per process, data swapped), thin the posterior to ``L`` draws spread
evenly over the chains, and record the rank of theta* among them for every checked quantity
(parameters, derived quantities and the log-likelihood test quantity). Ties are broken at random
(seeded), so ranks are uniform on 0..L exactly when the model is calibrated.

Uniformity test (one per quantity): the simultaneous ECDF test of Säilynoja, Bürkner & Vehtari
(2022, Stat. Comput. 32:32, arXiv 2103.10522). With N simulations the scaled ECDF N F(z_i) of the
fractional ranks at z_i = i / (L + 1) is Binomial(N, z_i) under uniformity; the statistic

    gamma = min_i 2 min{Bin_cdf(N F(z_i)), 1 - Bin_cdf(N F(z_i) - 1)}

is small when the ECDF leaves its pointwise band anywhere. Its null distribution is simulated
(seeded, ``n_null`` uniform rank samples of the same N and L), which gives the p-value
P(gamma_null <= gamma) and the simultaneous 1 - alpha band drawn in the ECDF-difference plots.
A quantity passes when p > alpha / m (Bonferroni over the m checked quantities of the model), so
that a calibrated model passes as a whole with probability >= 1 - alpha.

Divergent fits. SBC's argument needs exact posterior draws; a fit with divergent transitions
comes from a sampler that could not explore part of the posterior (Betancourt 2016, the funnel
of the centred eight schools), so its ranks are not evidence either way, and uniform ranks can
hide a biased sampler when the unexplored region is rare under the prior. Each simulation is
fitted as the analyses fit a data set (``retry=True``, the default): at the model's starting
target_accept, and again at the next rungs of ``TARGET_ACCEPT_LADDER`` (0.99) when that fit
diverged. The ladder changes the step size, not the target, so the ranks of the accepted fit
still test the posterior. ``run_sbc`` counts the simulations whose final fit still has a
post-warmup divergence (``fit_summary``) and, when any has, marks every quantity as not passed
(the p-values are kept: they still show the uniformity test), warns (``ConvergenceWarning``)
and writes the verdict "flagged" to ``sbc_summary.json``. The threshold is zero, as the
diagnostics gate is zero divergences (methods.md section 4): one divergent fit is one rank drawn
from a sampler known to be biased. How often the first attempt diverged is reported beside it
(``first_attempt_divergent_fits``), so the ladder hides nothing; ``retry=False`` (``--no-retry``)
judges the first attempt alone, as sessions 2-3 did.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesres.calibrate.models import CalibrationModel, built_model, get_model

__all__ = [
    "fit_summary",
    "flag_divergent",
    "sbc_ranks",
    "thin_draws",
    "gamma_statistic",
    "gamma_null",
    "simultaneous_band",
    "uniformity_table",
    "sbc_replication",
    "SBC_COLUMNS",
]

SBC_COLUMNS = ["quantity", "n_sims", "statistic", "p_value", "passed"]
ALPHA = 0.05
N_NULL = 4000

# --------------------------------------------------------------------------- numpy kernels


def thin_draws(x: np.ndarray, n_keep: int) -> np.ndarray:
    """``n_keep`` draws spread evenly over the chains of a (chain, draw) array."""
    x = np.asarray(x, float)
    if x.ndim == 1:
        x = x[None, :]
    chains, draws = x.shape[:2]
    per = [n_keep // chains + (1 if c < n_keep % chains else 0) for c in range(chains)]
    if max(per) > draws:
        raise ValueError(f"cannot keep {n_keep} draws from {chains} x {draws}")
    out = [x[c, np.linspace(0, draws - 1, k).round().astype(int)] for c, k in enumerate(per)]
    return np.concatenate(out)


def sbc_ranks(truth: float, draws: np.ndarray, rng: np.random.Generator) -> int:
    """Rank of ``truth`` among ``draws`` (0..L), ties broken uniformly at random."""
    draws = np.asarray(draws, float)
    below = int(np.sum(draws < truth))
    ties = int(np.sum(draws == truth))
    return below + (int(rng.integers(0, ties + 1)) if ties else 0)


def _ecdf_counts(ranks: np.ndarray, n_ranks: int) -> np.ndarray:
    """N F(z_i) for z_i = i / n_ranks, i = 1..n_ranks-1: #ranks < i (ranks in 0..n_ranks-1)."""
    ranks = np.asarray(ranks, int)
    hist = np.apply_along_axis(np.bincount, -1, ranks, minlength=n_ranks)
    return np.cumsum(hist, axis=-1)[..., :-1]


def gamma_statistic(ranks: np.ndarray, n_ranks: int) -> np.ndarray:
    """Säilynoja et al. (2022) gamma for integer ranks in 0..n_ranks-1 (last axis = simulations)."""
    ranks = np.asarray(ranks, int)
    n = ranks.shape[-1]
    z = np.arange(1, n_ranks) / n_ranks
    k = _ecdf_counts(ranks, n_ranks)
    lo = stats.binom.cdf(k, n, z)
    hi = stats.binom.sf(k - 1, n, z)
    return np.min(2.0 * np.minimum(lo, hi), axis=-1)


def gamma_null(n_sims: int, n_ranks: int, *, n_null: int = N_NULL, seed: int = 0) -> np.ndarray:
    """Null distribution of gamma: ``n_null`` samples of N uniform ranks (seeded)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_sims, n_ranks]))
    return gamma_statistic(rng.integers(0, n_ranks, size=(n_null, n_sims)), n_ranks)


def simultaneous_band(
    n_sims: int, n_ranks: int, *, alpha: float = ALPHA, null: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, lower, upper): the simultaneous 1 - alpha band for the ECDF at z_i = i / n_ranks."""
    null = gamma_null(n_sims, n_ranks) if null is None else null
    g = float(np.quantile(null, alpha))
    z = np.arange(1, n_ranks) / n_ranks
    lower = stats.binom.ppf(g / 2, n_sims, z) / n_sims
    upper = stats.binom.ppf(1 - g / 2, n_sims, z) / n_sims
    return z, lower, upper


def uniformity_table(
    ranks: Mapping[str, np.ndarray], *, n_ranks: int, alpha: float = ALPHA
) -> pd.DataFrame:
    """One row per quantity: ``quantity, n_sims, statistic, p_value, passed`` (CONTRACT.md)."""
    rows = []
    m = max(len(ranks), 1)
    nulls: dict[int, np.ndarray] = {}
    for name, r in ranks.items():
        r = np.asarray(r, int)
        n = len(r)
        if n not in nulls:
            nulls[n] = gamma_null(n, n_ranks)
        g = float(gamma_statistic(r, n_ranks))
        p = float((np.sum(nulls[n] <= g) + 1) / (len(nulls[n]) + 1))
        rows.append(
            {"quantity": name, "n_sims": n, "statistic": g, "p_value": p, "passed": p > alpha / m}
        )
    return pd.DataFrame(rows, columns=SBC_COLUMNS)


def fit_summary(records: pd.DataFrame) -> dict[str, Any]:
    """Per-study fit health from the replication records (``divergences``, ``seconds``, ...).

    ``divergent_fits``: simulations whose accepted fit had at least one post-warmup divergence;
    ``divergent_share`` their share; ``verdict_fits``: "ok" or "flagged";
    ``first_attempt_divergent_fits``: simulations whose first attempt diverged (sampled again up
    the target_accept ladder when the study retries; records without the column count their
    final fit), ``retried_fits`` those sampled more than once;
    ``ess_quantities_median``: the median over simulations of each checked quantity's bulk ESS;
    ``rhat_gt_1_1_fits``: fits whose worst R-hat exceeds 1.1 (reported, not flagged: SBC's short
    chains miss the 1.01 gate routinely, but 1.1 is a fit that did not mix at all);
    ``variants``: simulations per model form, for models whose form is chosen per data set.
    """
    n = len(records)
    div = records["divergences"].to_numpy(int) if n else np.zeros(0, int)
    n_div = int(np.sum(div > 0))
    first = records["divergences_first"].to_numpy(int) if "divergences_first" in records else div
    attempts = records["attempts"].to_numpy(int) if "attempts" in records else np.ones(n, int)

    def _stat(col: str, fn: Any) -> float:
        if not n or col not in records:
            return math.nan
        return float(fn(records[col].to_numpy(float)))

    return {
        "n_sims": int(n),
        "divergent_fits": n_div,
        "divergent_share": n_div / n if n else math.nan,
        "divergences_total": int(div.sum()),
        "divergences_max": int(div.max()) if n else 0,
        "first_attempt_divergent_fits": int(np.sum(first > 0)),
        "first_attempt_divergences_total": int(first.sum()),
        "retried_fits": int(np.sum(attempts > 1)),
        "ess_min_median": _stat("ess_min", np.nanmedian),
        "ess_min_min": _stat("ess_min", np.nanmin),
        "seconds_mean": _stat("seconds", np.mean),
        "seconds_median": _stat("seconds", np.median),
        "rhat_gt_1_1_fits": int(np.sum(records["r_hat_max"].to_numpy(float) > 1.1))
        if n and "r_hat_max" in records
        else 0,
        "ess_quantities_median": {
            c[4:-1]: float(np.nanmedian(records[c].to_numpy(float)))
            for c in records.columns
            if c.startswith("ess[") and n
        },
        "verdict_fits": "flagged" if n_div else "ok",
        **(
            {"variants": {str(k): int(v) for k, v in records["variant"].value_counts().items()}}
            if n and "variant" in records
            else {}
        ),
    }


def flag_divergent(table: pd.DataFrame, summary: Mapping[str, Any]) -> pd.DataFrame:
    """The uniformity table with ``passed`` False everywhere when any fit diverged."""
    out = table.copy()
    if summary["divergent_fits"] > 0:
        out["passed"] = False
    return out


# --------------------------------------------------------------------------- one simulation


def _posterior_flat(idata: Any, var_names: Sequence[str]) -> tuple[dict[str, np.ndarray], int, int]:
    """Posterior variables with (chain, draw) merged into one leading axis, chain-major."""
    post = idata["posterior"]
    out = {}
    chains = draws = 0
    for v in var_names:
        arr = np.asarray(post[v].values, float)  # (chain, draw, ...)
        chains, draws = arr.shape[:2]
        out[v] = arr.reshape((chains * draws,) + arr.shape[2:])
    return out, chains, draws


def sbc_replication(
    model: str | CalibrationModel,
    sim: int,
    *,
    seed: int,
    n_ranks: int,
    draws: int,
    tune: int,
    chains: int = 1,
    retry: bool = True,
) -> dict[str, Any]:
    """One SBC simulation: a flat record ``{sim, rank[q]..., ess[q]..., ess_min, r_hat_max,
    divergences, divergences_first, attempts, target_accept, seconds}``.

    ``divergences`` are those of the accepted fit, ``divergences_first`` those of the first
    attempt at the model's target_accept; with ``retry`` a divergent first attempt is sampled
    again up the analyses' target_accept ladder (same seed), see the module docstring.

    The checked quantities are computed for every posterior draw, then thinned to ``n_ranks - 1``
    draws spread over the chains (for quantities that are functions of one draw this is the
    same as thinning the parameters first); ``ess[q]`` is the bulk ESS of quantity q over all
    draws (thin to about it: autocorrelated kept draws bias the ranks), ``ess_min`` the smallest
    bulk ESS of any model variable. Seeds derive from ``(seed, sim)`` only, so results do not
    depend on which worker runs them.
    """
    from arviz_stats.base import array_stats

    from bayesres.config import SamplerSettings
    from bayesres.sampling import fit

    t0 = time.perf_counter()
    cm = get_model(model) if isinstance(model, str) else model
    ss = np.random.SeedSequence([int(seed), int(sim)])
    sim_ss, fit_ss, tie_ss = ss.spawn(3)
    params, data = cm.simulate(np.random.default_rng(sim_ss))
    variant = cm.variant_of(data)
    settings = SamplerSettings(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=1,
        seed=int(fit_ss.generate_state(1)[0]),
        target_accept=cm.target_accept,
        adaptation=cm.adaptation,
    )
    res = fit(
        built_model(cm, variant),
        settings=settings,
        key=cm.key_of(variant),
        data=data,
        retry=retry,
        gate_vars=cm.variables(),
        light=True,  # posterior + divergence / energy: all a replication reads
    )
    n_keep = n_ranks - 1
    post, n_chain, n_draw = _posterior_flat(res.idata, cm.variables())
    q_true = cm.quantities(params, data)
    q_post = cm.quantities(post, data)
    rng = np.random.default_rng(tie_ss)
    rec: dict[str, Any] = {"sim": int(sim)}
    q_ess = {}
    for name in q_true:
        qd = np.asarray(q_post[name], float).reshape(n_chain, n_draw)
        rec[f"rank[{name}]"] = sbc_ranks(float(q_true[name]), thin_draws(qd, n_keep), rng)
        q_ess[f"ess[{name}]"] = float(array_stats.ess(qd, method="bulk"))
    rec.update(q_ess)
    ess = []
    for v in cm.variables():
        arr = np.asarray(res.idata["posterior"][v].values, float)
        flat = arr.reshape(arr.shape[0], arr.shape[1], -1)
        ess += [float(array_stats.ess(flat[..., j], method="bulk")) for j in range(flat.shape[-1])]
    rec["ess_min"] = float(np.nanmin(ess)) if ess else math.nan
    rec["r_hat_max"] = float(res.report.r_hat_max)
    rec["divergences"] = int(res.report.divergences)
    rec["divergences_first"] = int(res.divergences_first)
    rec["attempts"] = int(res.attempts)
    rec["target_accept"] = float(res.target_accept)
    if variant is not None:
        rec["variant"] = str(variant)
    rec["seconds"] = time.perf_counter() - t0
    return rec


def sbc_chunk(model: str, sims: Sequence[int], **kw: Any) -> list[dict[str, Any]]:
    """Several simulations in one task (cuts scheduler overhead)."""
    return [sbc_replication(model, s, **kw) for s in sims]


def ranks_from_records(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    frame = frame.sort_values("sim")
    cols = [c for c in frame.columns if c.startswith("rank[")]
    return {c[5:-1]: frame[c].to_numpy(int) for c in cols}


# --------------------------------------------------------------------------- study


def _sbc_task(sims: Sequence[int], **kw: Any) -> list[dict[str, Any]]:
    return sbc_chunk(kw.pop("model"), sims, **kw)


def run_sbc(
    model: str,
    *,
    sims: int,
    out: str | Any,
    seed: int = 0,
    n_ranks: int = 100,
    draws: int = 500,
    tune: int | None = None,
    chains: int = 1,
    retry: bool = True,
    scheduler: str | None = None,
    workers: int = 2,
    chunk: int = 5,
    progress: bool = False,
    max_new: int | None = None,
    figures: bool = True,
) -> pd.DataFrame | None:
    """Run (or resume) an SBC study into ``out``; write ``sbc.csv``, ``sbc_summary.json`` and
    figures when complete.

    Returns the uniformity table (its ``attrs["fits"]`` holds :func:`fit_summary`; every
    ``passed`` is False when a fit diverged, see the module docstring), or ``None`` when stopped
    early by ``max_new``.
    """
    import warnings
    from pathlib import Path

    from bayesres.calibrate.engine import execute
    from bayesres.calibrate.plots import plot_sbc_ecdf
    from bayesres.calibrate.store import ReplicationStore
    from bayesres.errors import ConvergenceWarning
    from bayesres.io import atomic_write_csv, atomic_write_json

    cm = get_model(model)
    if tune is None:  # the model's own tuning length (the analysis'; CalibrationModel.tune)
        tune = cm.tune
    out = Path(out)
    n_keep = n_ranks - 1
    if draws * chains < n_keep:
        from bayesres.errors import SpecError

        raise SpecError(
            f"{chains} x {draws} draws cannot be thinned to {n_keep} ranked draws",
            hint="Raise --draws or lower --ranks.",
        )
    store = ReplicationStore(
        out,
        identity={
            "kind": "sbc",
            "model": cm.name,
            "seed": seed,
            "n_ranks": n_ranks,
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "retry": retry,
        },
    )
    done = store.done()
    pending = [s for s in range(sims) if f"sim{s:06d}" not in done]
    finished = execute(
        pending,
        _sbc_task,
        lambda s, rec: store.write(f"sim{s:06d}", [rec]),
        task_kwargs={
            "model": cm.name,
            "seed": seed,
            "n_ranks": n_ranks,
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "retry": retry,
        },
        scheduler=scheduler,
        workers=workers,
        chunk=chunk,
        progress=progress,
        max_new=max_new,
        label=f"SBC {cm.name}",
    )
    if finished < len(pending):
        return None
    records = store.consolidate(["sim"])
    records = records[records["sim"] < sims]
    ranks = ranks_from_records(records)
    uniform = uniformity_table(ranks, n_ranks=n_ranks)
    summary = fit_summary(records)
    table = flag_divergent(uniform, summary)
    failed = list(uniform.loc[~uniform["passed"], "quantity"])
    summary.update(
        model=cm.name,
        n_ranks=n_ranks,
        draws=draws,
        tune=tune,
        chains=chains,
        retry=retry,
        target_accept=cm.target_accept,
        quantities=len(uniform),
        quantities_nonuniform=failed,
        verdict="flagged" if summary["divergent_fits"] else ("failed" if failed else "passed"),
    )
    table.attrs["fits"] = summary
    atomic_write_csv(table, out / "sbc.csv")
    atomic_write_json(out / "sbc_summary.json", summary)
    if summary["divergent_fits"]:
        warnings.warn(
            f"SBC {cm.name}: {summary['divergent_fits']} of {summary['n_sims']} fits diverged "
            f"({summary['divergent_share']:.0%}{' after the target_accept ladder' if retry else ''}"
            "); ranks from divergent fits are not trustworthy, "
            "so the study is flagged (every quantity marked not passed; p-values kept in "
            "sbc.csv, fit counts in sbc_summary.json)",
            ConvergenceWarning,
            stacklevel=2,
        )
    if figures:
        plot_sbc_ecdf(ranks, out / "figures", n_ranks=n_ranks, table=table)
    return table
