"""Prior sensitivity: refits at x0.5 / x2 prior scales, beside power-scaling (priorsense).

methods.md section 4 and issue 7 item 3. Each prior scale is multiplied by each factor f, one
prior at a time, the model refitted (same seed: common random numbers) and each key quantity q
set against the reference fit: ``shift_sd`` = (mean_f - mean_ref) / sd_ref, ``sd_ratio`` =
sd_f / sd_ref, ``verdict_changed``: the 95 % equal-tailed interval's verdict on 0 ("positive",
"negative", "includes 0") differs, ``shift_mcse`` = sqrt(mcse_ref^2 + mcse_f^2) / sd_ref (ESS-
based MCSE of both means: a shift of about 2 shift_mcse is sampling noise).

* ``regression``: the hierarchical tier model of :mod:`bayesres.regression.bayes` on a bundled
  cross-section (``customs38`` as ``bayesres regress --dataset customs38`` builds it). Its prior
  multipliers are ``pm.Data``: one compile serves every refit (about a second each). Priors:
  ``group_sd`` (tau_a, tau_b), ``slope`` (b0, gamma), ``intercept`` (a0), ``sigma``.
  Quantities: slope[k], slope_diff[k-k'].
* ``did``: the hierarchical DID of :mod:`bayesres.did.bayes` (``ecommerce_panel``, ``mpdta``),
  leads 4 and target_accept 0.95 as ``bayesres did``, 4 x 1000 draws (at 2 x 500, R-hat reached
  1.27). Its priors are compile-time constants, so each changed prior recompiles: about 2 min a
  fit on ecommerce_panel on the shared 2-core box at load 5. Default set: th0 (effect prior),
  s_psi (tier spread), s_c (cell noise); also s_th, s_phi, s_pi, s_d. Quantities: ATT, ATT_tier[k].

Power-scaling (Kallioinen et al. 2024, Stat. Comput. 34:57), a cheap first pass without refits,
from the reference fit's ``log_prior`` (``pm.stats.compute_log_prior`` of the studied priors'
variables) and ``log_likelihood``:

* ``psense``: ``arviz_stats.psense_summary`` (CJS sensitivity at alpha = 0.99 / 1.01, diagnosis
  at 0.05) of each quantity to each prior's variables, to the studied priors jointly and to the
  likelihood. Not to every prior: scaling the unit- and group-level priors of a hierarchical model
  scales what acts as its group-level likelihood (every DID quantity then read prior-dominated);
* ``psis_*``: each refit approximated by Pareto-smoothed importance sampling of the reference
  draws, ratio = changed / reference prior density. Normal and HalfNormal priors of scale s
  raised to the power a keep their family with scale s / sqrt(a), so factor f is a = f^-2
  (Exponential: a = 1 / f), exact for the regression's priors and for a fixed DID scale (< 5
  groups) that multiplies a standard normal. The DID's other scales (HalfNormal or Gamma by group
  count) use a prior swap: the model rebuilt with the changed scale and its log prior evaluated
  at the reference draws. ``psis_pareto_k`` > 0.7 marks the approximation unreliable.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesres.config import HDI_PROB, SamplerSettings
from bayesres.errors import SpecError

__all__ = [
    "SENSITIVITY_COLUMNS",
    "PSENSE_COLUMNS",
    "FACTORS",
    "MODELS",
    "PriorScale",
    "FitDraws",
    "SensitivityResult",
    "interval_verdict",
    "summarise",
    "compare",
    "psis_log_weights",
    "sensitivity_table",
    "psense_table",
    "run_sensitivity",
    "regression_sensitivity",
    "did_sensitivity",
    "run_prior_sensitivity",
]

SENSITIVITY_COLUMNS = (
    "prior factor quantity mean_ref mean shift_sd sd_ratio verdict_changed prior_value sd_ref sd "
    "shift_mcse verdict_ref verdict psis_shift_sd psis_sd_ratio psis_verdict_changed psis_pareto_k "
    "divergences r_hat_max"
).split()
PSENSE_COLUMNS = ["prior", "quantity", "prior_sensitivity", "likelihood_sensitivity", "diagnosis"]
FACTORS = (0.5, 2.0)
MODELS = ("regression", "did")
DEFAULT_DATASET = {"regression": "customs38", "did": "ecommerce_panel"}
SHIFT_REFERENCE = 0.5  # |shift| reference lines of the figure, in reference posterior sds
PSENSE_THRESHOLD = 0.05  # priorsense's threshold (Kallioinen et al. 2024)
JOINT = "studied priors (joint)"
SETTINGS_KEYS = ("draws", "tune", "chains", "seed", "sampler", "target_accept")


# --------------------------------------------------------------------------- data objects


@dataclass(frozen=True)
class PriorScale:
    """One prior scale that is multiplied: its reference value, family and model variables.

    ``rvs``: the model variables whose log prior density carries the scale (PSIS, psense).
    ``family``: how the PSIS columns reweight the draws for a factor f: "normal" (a Normal or
    HalfNormal of this scale, or a standard normal it multiplies: power alpha = f^-2),
    "exponential" (alpha = 1 / f) or "swap" (the model's ``log_ratio``, any family).
    """

    name: str
    value: float
    family: str = "normal"  # normal | exponential | swap
    rvs: tuple[str, ...] = ()

    def alpha(self, factor: float) -> float:
        """Power alpha with p(theta)^alpha = the prior with its scale multiplied by ``factor``."""
        if self.family == "normal":  # N(m, s)^a ~ N(m, s / sqrt(a)); same for HalfNormal
            return float(factor) ** -2.0
        if self.family == "exponential":  # Exp(rate 1/s)^a ~ Exp(rate a/s)
            return 1.0 / float(factor)
        raise SpecError(
            f"no power for prior family {self.family!r}", hint="Use normal or exponential."
        )


@dataclass
class FitDraws:
    """What the sensitivity tables need from one fit.

    ``draws``: key quantities {name: (chain, draw)}; ``log_prior``: {variable: (chain, draw)}
    summed over the variable's own dims; ``log_likelihood``: (chain, draw, obs). The last two are
    needed only from the reference fit (power-scaling).
    """

    draws: dict[str, np.ndarray]
    divergences: int = 0
    r_hat_max: float = float("nan")
    seconds: float = 0.0
    log_prior: dict[str, np.ndarray] = field(default_factory=dict)
    log_likelihood: np.ndarray | None = None


@dataclass
class SensitivityResult:
    """Refit table (``SENSITIVITY_COLUMNS``), psense table, reference summary and run info."""

    table: pd.DataFrame
    psense: pd.DataFrame
    reference: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def changed(self) -> pd.DataFrame:
        """Rows whose interval verdict changed or whose mean moved by >= 0.5 reference sds."""
        t = self.table
        return t[t["verdict_changed"] | (t["shift_sd"].abs() >= SHIFT_REFERENCE)]

    def save(self, out: str | Path) -> list[Path]:
        """Write sensitivity.csv, psense.csv, reference.csv, sensitivity.json, figures/*.png."""
        from bayesres.calibrate.plots import plot_sensitivity
        from bayesres.io import atomic_write_csv, atomic_write_json

        out = Path(out)
        tables = {"sensitivity": self.table, "psense": self.psense, "reference": self.reference}
        paths = [atomic_write_csv(t, out / f"{name}.csv") for name, t in tables.items()]
        paths.append(atomic_write_json(out / "sensitivity.json", self.info))
        png = out / "figures" / "sensitivity.png"
        return [*paths, plot_sensitivity(self.table, png, reference=SHIFT_REFERENCE)]


# --------------------------------------------------------------------------- numpy kernels


def interval_verdict(low: float, high: float) -> str:
    """Where an interval lies relative to 0: "positive", "negative" or "includes 0"."""
    if low > 0:
        return "positive"
    if high < 0:
        return "negative"
    return "includes 0"


def _as_chain_draw(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, float)
    return a[None, :] if a.ndim == 1 else a.reshape(a.shape[0], -1)


def summarise(
    draws: Mapping[str, np.ndarray],
    *,
    prob: float = HDI_PROB,
    log_weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """quantity, mean, sd, low, high (``prob`` equal-tailed), verdict, mcse per quantity.

    Unweighted: sd with ddof 1, linear quantiles, ESS-based MCSE of the mean. With
    ``log_weights`` (normalised or not, one per flattened draw): weighted mean and sd, weighted
    inverted-CDF quantiles, and no MCSE (NaN).
    """
    from arviz_stats.base import array_stats

    q = [(1.0 - prob) / 2.0, (1.0 + prob) / 2.0]
    w = None
    if log_weights is not None:
        lw = np.asarray(log_weights, float).reshape(-1)
        w = np.exp(lw - lw.max())
        w = w / w.sum()
    rows = []
    for name, x in draws.items():
        cd = _as_chain_draw(x)
        flat = cd.reshape(-1)
        if w is None:
            mean, sd = float(flat.mean()), float(flat.std(ddof=1))
            lo, hi = np.quantile(flat, q)
            try:
                mcse = float(array_stats.mcse(cd, chain_axis=0, draw_axis=1, method="mean"))
            except Exception:  # noqa: BLE001 - too few draws for an ESS: no MCSE
                mcse = float("nan")
        else:
            if w.size != flat.size:
                raise SpecError(f"{w.size} weights for {flat.size} draws of {name!r}")
            mean = float(np.sum(w * flat))
            sd = float(np.sqrt(np.sum(w * (flat - mean) ** 2)))
            lo, hi = np.quantile(flat, q, method="inverted_cdf", weights=w)
            mcse = float("nan")
        verdict = interval_verdict(float(lo), float(hi))
        rows.append((name, mean, sd, float(lo), float(hi), verdict, mcse))
    return pd.DataFrame(rows, columns=["quantity", "mean", "sd", "low", "high", "verdict", "mcse"])


def compare(reference: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Shift in reference sds, sd ratio and verdict change of ``other`` against ``reference``
    (both ``summarise`` tables; rows follow ``reference``)."""
    r = reference.set_index("quantity")
    o = other.set_index("quantity").reindex(r.index)
    cols = {
        "mean_ref": r["mean"],
        "mean": o["mean"],
        "shift_sd": (o["mean"] - r["mean"]) / r["sd"],
        "sd_ratio": o["sd"] / r["sd"],
        "verdict_changed": o["verdict"] != r["verdict"],
        "sd_ref": r["sd"],
        "sd": o["sd"],
        "shift_mcse": np.hypot(r["mcse"], o["mcse"]) / r["sd"],
        "verdict_ref": r["verdict"],
        "verdict": o["verdict"],
    }
    return pd.DataFrame(cols).rename_axis("quantity").reset_index()


def psis_log_weights(log_ratio: np.ndarray) -> tuple[np.ndarray, float]:
    """Pareto-smoothed log weights and Pareto k from log importance ratios (chain, draw).

    Changing the prior from p to q leaves the likelihood alone, so the ratio of the new to the
    reference posterior is q(theta) / p(theta); power-scaling p by alpha is q = p^alpha, a ratio
    p(theta)^(alpha - 1).
    """
    from arviz_stats.base import array_stats

    cd = _as_chain_draw(log_ratio)
    ratios = cd.reshape(-1)
    try:  # relative tail ESS of the ratios sets the tail length, as arviz_stats.psense does
        r_eff = float(array_stats.ess(cd, chain_axis=0, draw_axis=1, method="tail", relative=True))
    except Exception:  # noqa: BLE001 - too few draws for an ESS
        r_eff = 1.0
    # arviz_stats' psislw takes log-likelihood values (the LOO convention: ratios are -loglik)
    lw, k = array_stats.psislw(-ratios, r_eff=min(max(r_eff, 0.1), 1.0))
    return np.asarray(lw, float), float(k)


def _selected_log_prior(fit: FitDraws, prior: PriorScale) -> np.ndarray | None:
    if not prior.rvs or not all(rv in fit.log_prior for rv in prior.rvs):
        return None
    return np.sum([np.asarray(fit.log_prior[rv], float) for rv in prior.rvs], axis=0)


LogRatio = Callable[[PriorScale, float], np.ndarray]


def _log_ratio(
    reference: FitDraws, p: PriorScale, factor: float, swap: LogRatio | None
) -> np.ndarray | None:
    if p.family == "swap":
        return None if swap is None else np.asarray(swap(p, factor), float)
    lp = _selected_log_prior(reference, p)
    return None if lp is None else (p.alpha(factor) - 1.0) * lp


def sensitivity_table(
    reference: FitDraws,
    refits: Mapping[tuple[str, float], FitDraws],
    priors: Mapping[str, PriorScale],
    *,
    prob: float = HDI_PROB,
    log_ratio: LogRatio | None = None,
) -> pd.DataFrame:
    """The tidy refit table (``SENSITIVITY_COLUMNS``), one row per (prior, factor, quantity).

    The PSIS columns approximate each refit from the reference draws (NaN without a log
    ratio: no log prior recorded, or a "swap" prior and no ``log_ratio``).
    """
    ref = summarise(reference.draws, prob=prob)
    parts = []
    for (name, factor), fit in refits.items():
        p = priors[name]
        c = compare(ref, summarise(fit.draws, prob=prob))
        c.insert(0, "factor", float(factor))
        c.insert(0, "prior", name)
        c["prior_value"] = p.value * float(factor)
        c["divergences"] = int(fit.divergences)
        c["r_hat_max"] = float(fit.r_hat_max)
        lr = _log_ratio(reference, p, factor, log_ratio)
        if lr is None:
            c["psis_shift_sd"] = c["psis_sd_ratio"] = c["psis_pareto_k"] = np.nan
            c["psis_verdict_changed"] = pd.NA
        else:
            lw, k = psis_log_weights(lr)
            pc = compare(ref, summarise(reference.draws, prob=prob, log_weights=lw))
            c["psis_shift_sd"] = pc["shift_sd"].to_numpy()
            c["psis_sd_ratio"] = pc["sd_ratio"].to_numpy()
            c["psis_verdict_changed"] = pc["verdict_changed"].to_numpy()
            c["psis_pareto_k"] = k
        parts.append(c)
    if not parts:
        return pd.DataFrame(columns=SENSITIVITY_COLUMNS)
    return pd.concat(parts, ignore_index=True)[SENSITIVITY_COLUMNS]


def _datatree(fit: FitDraws) -> Any:
    import xarray as xr

    first = _as_chain_draw(next(iter(fit.draws.values())))
    coords = {"chain": np.arange(first.shape[0]), "draw": np.arange(first.shape[1])}
    dims = ("chain", "draw")

    def ds(values: Mapping[str, np.ndarray]) -> xr.Dataset:
        return xr.Dataset({k: (dims, _as_chain_draw(v)) for k, v in values.items()}, coords=coords)

    ll = np.asarray(fit.log_likelihood, float)
    ll = ll.reshape(ll.shape[0], ll.shape[1], -1)
    groups = {
        "posterior": ds(fit.draws),
        "log_prior": ds(fit.log_prior),
        "log_likelihood": xr.Dataset({"y": (("chain", "draw", "obs"), ll)}, coords=coords),
    }
    return xr.DataTree.from_dict(groups)


def psense_table(
    reference: FitDraws,
    priors: Mapping[str, PriorScale],
    *,
    threshold: float = PSENSE_THRESHOLD,
) -> pd.DataFrame:
    """``arviz_stats.psense_summary`` per prior (its variables only), jointly over the studied
    priors, and for the likelihood; tidy (``PSENSE_COLUMNS``)."""
    import arviz_stats

    if reference.log_likelihood is None or not reference.log_prior:
        return pd.DataFrame(columns=PSENSE_COLUMNS)
    tree = _datatree(reference)
    groups = {n: p.rvs for n, p in priors.items() if _selected_log_prior(reference, p) is not None}
    if len(groups) > 1:
        groups[JOINT] = tuple(dict.fromkeys(v for rvs in groups.values() for v in rvs))
    log = logging.getLogger("arviz_stats.psense")
    level = log.level
    log.setLevel(logging.ERROR)  # its "potential issues" warning: the diagnosis column says it
    parts = []
    try:
        for name, rvs in groups.items():
            df = arviz_stats.psense_summary(
                tree, prior_var_names=list(rvs), threshold=threshold, round_to=6
            )
            df = df.rename(
                columns={"prior": "prior_sensitivity", "likelihood": "likelihood_sensitivity"}
            )
            parts.append(df.rename_axis("quantity").reset_index().assign(prior=name))
    finally:
        log.setLevel(level)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PSENSE_COLUMNS)
    out["diagnosis"] = out["diagnosis"].replace("✓", "ok")
    return out[PSENSE_COLUMNS]


# --------------------------------------------------------------------------- engine


def run_sensitivity(
    fit: Callable[[Mapping[str, float]], FitDraws],
    priors: Mapping[str, PriorScale],
    *,
    factors: Sequence[float] = FACTORS,
    prob: float = HDI_PROB,
    psense: bool = True,
    progress: Callable[[str], None] | None = None,
    log_ratio: LogRatio | None = None,
) -> SensitivityResult:
    """Fit the reference (``fit({})``), then ``fit({prior: value * factor})`` one at a time;
    ``log_ratio(prior, factor)``: log new / reference prior density per reference draw."""
    bad = [f for f in factors if not (np.isfinite(f) and f > 0 and f != 1)]
    if bad or not factors:
        raise SpecError(
            f"prior scale factors must be positive and not 1, got {list(factors)}",
            hint="For example --scales 0.5,2.",
        )
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    say("reference fit")
    reference = fit({})
    refits: dict[tuple[str, float], FitDraws] = {}
    for name, p in priors.items():
        for f in factors:
            say(f"{name} x {f:g}")
            refits[(name, float(f))] = fit({name: p.value * float(f)})
    table = sensitivity_table(reference, refits, priors, prob=prob, log_ratio=log_ratio)
    ps = psense_table(reference, priors) if psense else pd.DataFrame(columns=PSENSE_COLUMNS)
    fits = {"reference": reference} | {f"{n} x {f:g}": r for (n, f), r in refits.items()}
    info = {
        "priors": {
            n: dict(value=p.value, family=p.family, rvs=list(p.rvs)) for n, p in priors.items()
        },
        "factors": [float(f) for f in factors],
        "prob": prob,
        "fits": len(fits),
        "seconds": round(time.perf_counter() - t0, 2),
        "per_fit": {
            k: dict(seconds=round(r.seconds, 2), divergences=r.divergences, r_hat_max=r.r_hat_max)
            for k, r in fits.items()
        },
    }
    ref = summarise(reference.draws, prob=prob)
    return SensitivityResult(table=table, psense=ps, reference=ref, info=info)


def _select(draws: Mapping[str, np.ndarray], quantities: Sequence[str]) -> dict[str, np.ndarray]:
    """Names equal to an entry, or starting with an entry that ends in '['."""
    out = {
        k: np.asarray(v, float)
        for k, v in draws.items()
        if any(k == q or (q.endswith("[") and k.startswith(q)) for q in quantities)
    }
    if not out:
        raise SpecError(
            f"no quantity matches {list(quantities)}", hint=f"Available: {', '.join(draws)}."
        )
    return out


def _log_prior(idata: Any, model: Any, names: Sequence[str]) -> dict[str, np.ndarray]:
    """{variable: log prior density per draw (chain, draw)} for free variables ``names``."""
    import pymc as pm

    names = [n for n in names if n in idata["posterior"]]
    if not names:
        return {}
    ds = pm.stats.compute_log_prior(
        idata, model=model, var_names=names, extend_inferencedata=False, progressbar=False
    )
    summed = {n: ds[n].sum([d for d in ds[n].dims if d not in ("chain", "draw")]) for n in names}
    return {n: np.asarray(a.transpose("chain", "draw").values, float) for n, a in summed.items()}


def _studied(priors: Mapping[str, PriorScale]) -> list[str]:
    return list(dict.fromkeys(v for p in priors.values() for v in p.rvs))


def _settings(settings: SamplerSettings | None, **kw: Any) -> SamplerSettings:
    return settings if settings is not None else SamplerSettings.make(**kw)  # None: defaults


# --------------------------------------------------------------------------- regression

REGRESSION_PRIORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "group_sd": ("normal", ("tau_a", "tau_b")),  # HalfNormal(group_sd s_y)
    "slope": ("normal", ("b0", "gamma")),  # N(0, slope s_y)
    "intercept": ("normal", ("a0",)),  # N(ybar, intercept s_y)
    "sigma": ("exponential", ("sigma",)),  # Exponential(rate 1 / (sigma s_y))
}
REGRESSION_DEFAULT_PRIORS = ("group_sd", "slope")
REGRESSION_QUANTITIES = ("slope[", "slope_diff[")


def regression_cross_section(dataset: str = "customs38") -> tuple[Any, list[str]]:
    """The validated cross-section of a bundled dataset as ``bayesres regress --dataset`` builds
    it (exact entropy index, ln export ratio, CAGR growth), and the validation notes."""
    from bayesres import datasets
    from bayesres.regression import DATASET_DEFAULTS, INDEX_COLUMN, _index_from_indicators
    from bayesres.regression import outcome as outcome_mod
    from bayesres.validate import validate_cross_section

    d = DATASET_DEFAULTS.get(dataset)
    if d is None:
        raise SpecError(
            f"no regression defaults for dataset {dataset!r}",
            hint=f"Use one of: {', '.join(DATASET_DEFAULTS)} (or pass a CrossSection).",
        )
    frame = datasets.load(dataset).copy()
    if d["predictor"] == INDEX_COLUMN and INDEX_COLUMN not in frame.columns:
        frame[INDEX_COLUMN], _, _ = _index_from_indicators(frame, dataset)
    frame["export_ratio"] = outcome_mod.export_ratio(frame, prefix=d["exports_prefix"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cs = validate_cross_section(
            frame,
            source=dataset,
            outcome="export_ratio",
            predictor=d["predictor"],
            controls=tuple(d["controls"]),
            unit=d["unit"],
            tier=d["tier"],
            log=bool(d["log"]),
            reference_tier=d["reference_tier"],
        )
    return cs, [str(w.message) for w in caught]


def regression_sensitivity(
    data: Any = "customs38",
    *,
    priors: Sequence[str] = REGRESSION_DEFAULT_PRIORS,
    factors: Sequence[float] = FACTORS,
    likelihood: str = "normal",
    base: Any = None,
    settings: SamplerSettings | None = None,
    draws: int | None = None,
    chains: int | None = None,
    seed: int = 0,
    quantities: Sequence[str] = REGRESSION_QUANTITIES,
    psense: bool = True,
    prob: float = HDI_PROB,
    progress: Callable[[str], None] | None = None,
) -> SensitivityResult:
    """Prior sensitivity of the hierarchical tier regression (one compile, data swapped).

    ``data``: a bundled dataset name or a validated ``CrossSection``; ``base``: the reference
    ``regression.bayes.Priors`` (default: the shipped priors).
    """
    from bayesres.regression import bayes
    from bayesres.validate import CrossSection

    notes: list[str] = []
    if isinstance(data, str):
        cs, notes = regression_cross_section(data)
        source = data
    elif isinstance(data, CrossSection):
        cs, source = data, data.source
    else:
        raise SpecError("data must be a bundled dataset name or a validated CrossSection")
    if not (cs.tier and len(cs.tiers) > 1):
        raise SpecError("the hierarchical tier model needs a tier column with >= 2 tiers")
    unknown = [p for p in priors if p not in REGRESSION_PRIORS]
    if unknown or not priors:
        raise SpecError(
            f"unknown regression prior(s) {unknown or '(none)'}",
            hint=f"Use some of: {', '.join(REGRESSION_PRIORS)}.",
        )
    base = base if base is not None else bayes.Priors()
    st = _settings(settings, draws=draws, chains=chains, seed=seed)
    td = bayes.prepare(cs)
    has_c = td.c.shape[1] > 0  # gamma exists only with a control
    scales = {
        p: PriorScale(
            p,
            float(getattr(base, p)),
            REGRESSION_PRIORS[p][0],
            tuple(v for v in REGRESSION_PRIORS[p][1] if v != "gamma" or has_c),
        )
        for p in priors
    }
    state: dict[str, Any] = {"model": None}

    def fit(overrides: Mapping[str, float]) -> FitDraws:
        t0 = time.perf_counter()
        model, res = bayes.fit_variant(
            td,
            variant="hierarchical",
            likelihood=likelihood,
            settings=st,
            priors=replace(base, **dict(overrides)),
            model=state["model"],
            swap=state["model"] is not None,
        )
        out = FitDraws(
            draws=_select(bayes.raw_draws(res.idata, td), quantities),
            divergences=int(res.report.divergences),
            r_hat_max=float(res.report.r_hat_max),
        )
        if state["model"] is None:  # the reference: built with ``base``, so its log prior is
            state["model"] = model
            if psense:
                out.log_prior = _log_prior(res.idata, model, _studied(scales))
                out.log_likelihood = bayes.pointwise_loglik(res.idata, td)
        out.seconds = time.perf_counter() - t0
        return out

    result = run_sensitivity(
        fit, scales, factors=factors, prob=prob, psense=psense, progress=progress
    )
    result.info = {
        "model": "regression",
        "variant": "hierarchical",
        "likelihood": likelihood,
        "dataset": source,
        "n": td.n,
        "tiers": list(td.tiers),
        "settings": {k: getattr(st, k) for k in SETTINGS_KEYS},
        "base_priors": dict(base.__dict__),
        "notes": notes,
        **result.info,
    }
    return result


# --------------------------------------------------------------------------- DID

DID_PRIORS = ("th0", "s_th", "s_phi", "s_psi", "s_c", "s_pi", "s_d")
DID_DEFAULT_PRIORS = ("th0", "s_psi", "s_c")
DID_QUANTITIES = ("ATT", "ATT_tier[")
# a fixed scale (a level with < 5 groups) has no variable of its own: it is the sd of z_psi, or
# multiplies the standard normals rw, z_phi, z_pi (PSIS: power f^-2 on their N(0, 1) prior)
DID_FIXED_SCALE_CHILD = {
    "s_th": ("rw",),
    "s_phi": ("z_phi",),
    "s_psi": ("z_psi",),
    "s_pi": ("z_pi",),
}
DID_MULTIPLIED = ("rw", "z_phi", "z_pi")
DID_LEADS = 4  # as bayesres did / models/did_003.toml
DID_TARGET_ACCEPT = 0.95  # as bayesres did (every fit at 0.9 diverged and was redone)


def did_panel(dataset: str = "ecommerce_panel") -> tuple[Any, list[str]]:
    """The validated panel of a bundled dataset with ``bayesres did --dataset`` defaults."""
    from bayesres.did import bundled_panel

    return bundled_panel(dataset)


def _did_rvs(model: Any, name: str) -> tuple[str, ...]:
    free = {rv.name for rv in model.free_RVs}
    found = [v for v in (name, *DID_FIXED_SCALE_CHILD.get(name, ())) if v in free]
    return tuple(found[:1])


def did_sensitivity(
    data: Any = "ecommerce_panel",
    *,
    priors: Sequence[str] = DID_DEFAULT_PRIORS,
    factors: Sequence[float] = FACTORS,
    att_prior: str = "hierarchical",
    leads: int = DID_LEADS,
    settings: SamplerSettings | None = None,
    draws: int | None = None,
    chains: int | None = None,
    seed: int = 0,
    quantities: Sequence[str] = DID_QUANTITIES,
    psense: bool = True,
    prob: float = HDI_PROB,
    progress: Callable[[str], None] | None = None,
) -> SensitivityResult:
    """Prior sensitivity of the hierarchical DID (one compile per changed prior).

    ``data``: a bundled panel name (ecommerce_panel, mpdta) or a validated ``Panel``. A prior the
    model does not use (s_pi without leads, s_d without tier-year shocks, s_th with one event
    time) is skipped with a note.
    """
    from bayesres.did import bayes_quantities
    from bayesres.did.bayes import DEFAULT_PRIORS, build_did_model, fit_did
    from bayesres.validate import Panel

    notes: list[str] = []
    if isinstance(data, str):
        panel, notes = did_panel(data)
        source = data
    elif isinstance(data, Panel):
        panel, source = data, data.source
    else:
        raise SpecError("data must be a bundled dataset name or a validated Panel")
    unknown = [p for p in priors if p not in DID_PRIORS]
    if unknown or not priors:
        raise SpecError(
            f"unknown DID prior(s) {unknown or '(none)'}",
            hint=f"Use some of: {', '.join(DID_PRIORS)}.",
        )
    st = _settings(settings, draws=draws, chains=chains, seed=seed, target_accept=DID_TARGET_ACCEPT)
    ref_model, _ = build_did_model(panel, att_prior=att_prior, leads=leads)  # no sampling
    scales: dict[str, PriorScale] = {}
    for p in priors:
        rvs = _did_rvs(ref_model, p)
        if not rvs:  # every DID scale prior has a variable of its own or a child when used
            notes.append(f"{p}: not used by this model ({att_prior}, leads = {leads}); skipped")
            continue
        family = "normal" if rvs[0] in DID_MULTIPLIED else "swap"
        scales[p] = PriorScale(p, float(DEFAULT_PRIORS[p]), family, rvs)
    if not scales:
        raise SpecError("none of the chosen priors is used by this DID model", hint=str(notes))
    ref: dict[str, Any] = {}

    def swap(p: PriorScale, factor: float) -> np.ndarray:
        """log q - log p per reference draw, q: the model rebuilt with p's scale x factor."""
        new, _ = build_did_model(
            panel, att_prior=att_prior, leads=leads, priors={p.name: p.value * factor}
        )
        lq = _log_prior(ref["idata"], new, p.rvs)
        return np.sum([lq[v] - ref["log_prior"][v] for v in p.rvs], axis=0)

    def fit(overrides: Mapping[str, float]) -> FitDraws:
        t0 = time.perf_counter()
        seen: dict[str, Any] = {}

        def derived(idata: Any, design: Any) -> dict[str, np.ndarray]:
            seen["q"] = _select(bayes_quantities(idata, design)[0], quantities)
            return seen["q"]

        res, design = fit_did(
            panel,
            settings=st,
            att_prior=att_prior,
            leads=leads,
            priors=dict(overrides) or None,
            derived=derived,
        )
        out = FitDraws(
            draws=seen.get("q") or derived(res.idata, design),
            divergences=int(res.report.divergences),
            r_hat_max=float(res.report.r_hat_max),
        )
        if not overrides and psense:
            out.log_prior = _log_prior(res.idata, ref_model, _studied(scales))
            out.log_likelihood = _did_loglik(res.idata, ref_model)
            ref.update(idata=res.idata, log_prior=out.log_prior)
        out.seconds = time.perf_counter() - t0
        return out

    result = run_sensitivity(
        fit,
        scales,
        factors=factors,
        prob=prob,
        psense=psense,
        progress=progress,
        log_ratio=swap if psense else None,
    )
    result.info = {
        "model": "did",
        "att_prior": att_prior,
        "leads": leads,
        "dataset": source,
        "settings": {k: getattr(st, k) for k in SETTINGS_KEYS},
        "notes": notes,
        **result.info,
    }
    return result


def _did_loglik(idata: Any, model: Any) -> np.ndarray:
    import pymc as pm

    ds = pm.stats.compute_log_likelihood(
        idata, model=model, var_names=["y"], extend_inferencedata=False, progressbar=False
    )
    return np.asarray(ds["y"].transpose("chain", "draw", ...).values, float)


def run_prior_sensitivity(
    model: str,
    *,
    dataset: str | None = None,
    out: str | Path | None = None,
    priors: Sequence[str] | None = None,
    **kwargs: Any,
) -> SensitivityResult:
    """``bayesres calibrate sensitivity``: dispatch on ``model`` and save into ``out``."""
    if model not in MODELS:
        raise SpecError(
            f"unknown model {model!r} for prior sensitivity", hint="Use regression or did."
        )
    run, default = {
        "regression": (regression_sensitivity, REGRESSION_DEFAULT_PRIORS),
        "did": (did_sensitivity, DID_DEFAULT_PRIORS),
    }[model]
    result = run(dataset or DEFAULT_DATASET[model], priors=priors or default, **kwargs)
    if out is not None:
        result.save(out)
    return result
