"""Coverage at fixed true parameters on the customs38 tier design (methods.md section 2.6).

Design: the bundled customs38 tier sizes (first 4 / new_first 12 / other 22, the reference tier
last), a fixed predictor x_i ~ N(m_k, 0.3) with m = (0.6, 0.15, -0.3) and a control c_i with
corr(x, c) = 0.3 inside tiers, drawn once from the study seed (coverage is conditional on this
design, so the OLS t interval is exact under S1 / S2). Per replication only the errors are
redrawn: y = a_k + b_k x + gamma c + eps, gamma = 0.05, sigma = 0.1.

Scenarios: S1 b = 0.2 in every tier; S2 b = (0.05, 0.15, 0.25); S3-S6 keep S2's slopes and add
S3 eps = sigma t_3; S4 sd_i = sigma exp(0.5 (x_i - mean x)); S5 one first-tier outlier (+3 sigma
added to its y in every replication); S6 tier intercepts (0.3, 0.15, 0) with the frequentist
methods fitting the paper's interaction-only model (one intercept, slope dummies; paper 001
Table 4). The Bayesian models keep their own varying intercepts in S6.

Methods: OLS (classical, t(n-p): exact under S1/S2), OLS-HC1/HC2/HC3 (statsmodels) with
t(n-p), HC2 with the Bell-McCaffrey df (bayesres.regression.freq.bell_mccaffrey_df), the wild
restricted bootstrap (bayesres.regression.freq.wild_bootstrap, Rademacher, 999 draws; each
quantity is made a single coefficient by an invertible reparametrisation), and the shipped
Bayesian tier models of ``bayesres.regression.bayes`` (``build_model`` / ``fit_variant``, the
analysis's own data-scaled priors, fitted with nutpie, compiled once per worker, data swapped;
see ``calibrate.regression_models``): ``bayes-pooled`` / ``bayes-pooled-t`` (one intercept and
slope; Normal / Student-t), ``bayes-nopool`` (independent tier intercepts and slopes, Normal),
``bayes-hier-normal`` / ``bayes-hier-t`` (non-centred varying intercepts and slopes by tier).
They replace the calibration package's former private tier models. Bayesian intervals are 95 %
equal-tailed, estimates posterior medians. ``centre`` ("tier", the analysis default, or
"global") is the centring of x in the no-pool and hierarchical variants; it is part of the
study identity (``study.json``) whenever one of them runs, so a store of one centring cannot be
resumed with the other (stores made before the option existed have no ``centre`` key and were
fitted with global centring).

Quantities: slope[k] for each tier and slope_diff[k-other]. Metrics per (scenario, method,
quantity): coverage of the 95 % interval with its Monte Carlo SE sqrt(c (1 - c) / R), mean width,
RMSE of the estimate, and the rejection rate of 0 (the interval excludes 0).
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesres.errors import SpecError

__all__ = [
    "COVERAGE_COLUMNS",
    "SCENARIOS",
    "METHODS",
    "CoverageDesign",
    "Scenario",
    "coverage_design",
    "simulate_y",
    "frequentist_intervals",
    "coverage_replication",
    "coverage_table",
    "resolve_methods",
]

COVERAGE_COLUMNS = [
    "scenario",
    "method",
    "quantity",
    "truth",
    "reps",
    "coverage",
    "mcse",
    "mean_width",
    "rmse",
    "rejection_rate",
]
LEVEL = 0.95
TIERS = ("first", "new_first", "other")
DEFAULT_SIZES = (4, 12, 22)
X_MEANS = (0.6, 0.15, -0.3)
X_SD, RHO, GAMMA, SIGMA = 0.3, 0.3, 0.05, 0.1

OLS_METHODS = ("OLS", "OLS-HC1", "OLS-HC2", "OLS-HC3", "HC2-BM")
BOOT_METHODS = ("wild-bootstrap",)
BAYES_METHODS = (
    "bayes-pooled",
    "bayes-pooled-t",
    "bayes-nopool",
    "bayes-hier-normal",
    "bayes-hier-t",
)
METHODS = OLS_METHODS + BOOT_METHODS + BAYES_METHODS
# Bayesian methods whose x centring follows ``centre`` (the pooled ones always centre globally)
CENTRED_METHODS = ("bayes-nopool", "bayes-hier-normal", "bayes-hier-t")
METHOD_GROUPS = {
    "ols": OLS_METHODS,
    "freq": OLS_METHODS + BOOT_METHODS,
    "bayes": BAYES_METHODS,
    "all": METHODS,
}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    slopes: tuple[float, ...] = (0.05, 0.15, 0.25)
    intercepts: tuple[float, ...] = (0.0, 0.0, 0.0)
    noise: str = "normal"
    hetero: bool = False
    outlier: bool = False
    fit: str = "full"  # full | interaction_only (frequentist fit)


SCENARIOS = {
    "S1": Scenario("S1", "homogeneous slopes b = 0.2", slopes=(0.2, 0.2, 0.2)),
    "S2": Scenario("S2", "heterogeneous slopes b = (0.05, 0.15, 0.25)"),
    "S3": Scenario("S3", "t3 errors", noise="t3"),
    "S4": Scenario("S4", "heteroskedastic sd proportional to exp(0.5 x)", hetero=True),
    "S5": Scenario("S5", "one first-tier outlier (+3 sigma)", outlier=True),
    "S6": Scenario(
        "S6",
        "tier intercept differences, interaction-only frequentist fit",
        intercepts=(0.3, 0.15, 0.0),
        fit="interaction_only",
    ),
}


@dataclass(frozen=True)
class CoverageDesign:
    tiers: tuple[str, ...]
    tier_idx: np.ndarray = field(repr=False)
    x: np.ndarray = field(repr=False)
    c: np.ndarray = field(repr=False)

    @property
    def n(self) -> int:
        return len(self.x)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(v) for v in np.bincount(self.tier_idx, minlength=len(self.tiers)))

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for a in (self.tier_idx, self.x, self.c):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


def _dataset_sizes(dataset: str) -> tuple[int, ...]:
    """Tier sizes (first, new_first, other) of a bundled dataset; (4, 12, 22) if unreadable."""
    try:
        from bayesres import datasets

        counts = datasets.load(dataset)["tier"].value_counts()
        return tuple(int(counts[t]) for t in TIERS)
    except SpecError:
        raise
    except Exception:  # the dataset lacks a tier column with these labels
        return DEFAULT_SIZES


def coverage_design(dataset: str = "customs38", *, seed: int = 0) -> CoverageDesign:
    """The fixed design: tier sizes from ``dataset``, x and c drawn once from ``seed``."""
    sizes = _dataset_sizes(dataset)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xDE516]))
    idx = np.repeat(np.arange(len(sizes)), sizes)
    u = rng.standard_normal((len(idx), 2))
    x = np.asarray(X_MEANS)[idx] + X_SD * u[:, 0]
    c = RHO * u[:, 0] + np.sqrt(1 - RHO**2) * u[:, 1]
    return CoverageDesign(tiers=TIERS, tier_idx=idx, x=x, c=c)


def simulate_y(design: CoverageDesign, scenario: Scenario, rng: np.random.Generator) -> np.ndarray:
    a = np.asarray(scenario.intercepts)[design.tier_idx]
    b = np.asarray(scenario.slopes)[design.tier_idx]
    e = rng.standard_t(3, design.n) if scenario.noise == "t3" else rng.standard_normal(design.n)
    sd = SIGMA * (np.exp(0.5 * (design.x - design.x.mean())) if scenario.hetero else 1.0)
    y = a + b * design.x + GAMMA * design.c + sd * e
    if scenario.outlier:
        y[np.flatnonzero(design.tier_idx == 0)[0]] += 3 * SIGMA
    return y


def truths(scenario: Scenario, tiers: Sequence[str] = TIERS) -> dict[str, float]:
    b = scenario.slopes
    out = {f"slope[{t}]": float(v) for t, v in zip(tiers, b, strict=True)}
    out.update(
        {
            f"slope_diff[{t}-{tiers[-1]}]": float(v - b[-1])
            for t, v in zip(tiers[:-1], b[:-1], strict=True)
        }
    )
    return out


# --------------------------------------------------------------------------- frequentist kernels


def design_matrix(design: CoverageDesign, fit: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(X, L, names): the regression matrix and the contrast rows giving each quantity."""
    k = len(design.tiers)
    onehot = np.eye(k)[design.tier_idx]
    names = [f"slope[{t}]" for t in design.tiers] + [
        f"slope_diff[{t}-{design.tiers[-1]}]" for t in design.tiers[:-1]
    ]
    if fit == "full":  # tier intercepts, tier slopes, control
        x = np.column_stack([onehot, onehot * design.x[:, None], design.c])
        slope = np.zeros((k, x.shape[1]))
        slope[np.arange(k), k + np.arange(k)] = 1.0
    elif fit == "interaction_only":  # 1, x, x*1{k} for k != reference, control (paper Table 4)
        x = np.column_stack(
            [np.ones(design.n), design.x, onehot[:, :-1] * design.x[:, None], design.c]
        )
        slope = np.zeros((k, x.shape[1]))
        slope[:, 1] = 1.0
        slope[np.arange(k - 1), 2 + np.arange(k - 1)] = 1.0
    else:
        raise SpecError(f"unknown fit {fit!r}", hint="Use full or interaction_only.")
    diff = slope[:-1] - slope[-1]
    return x, np.vstack([slope, diff]), names


def _bm_df(x: np.ndarray, ell: np.ndarray) -> float:
    try:
        from bayesres.regression.freq import bell_mccaffrey_df
    except ImportError:  # pragma: no cover - the shared kernel is present
        bell_mccaffrey_df = _bell_mccaffrey_df
    return float(bell_mccaffrey_df(x, ell))


def _bell_mccaffrey_df(x: np.ndarray, ell: np.ndarray) -> float:  # pragma: no cover - fallback
    xtx_inv = np.linalg.inv(x.T @ x)
    hat = x @ xtx_inv @ x.T
    m = np.eye(x.shape[0]) - hat
    a = (x @ xtx_inv @ ell) / np.sqrt(1.0 - np.diag(hat))
    lam = np.linalg.eigvalsh(a[:, None] * m * a[None, :])
    return float(lam.sum() ** 2 / (lam**2).sum())


@functools.lru_cache(maxsize=16)
def _bm_dfs(key: str, fit: str) -> tuple[float, ...]:
    design = _DESIGNS[key]
    x, ell, _ = design_matrix(design, fit)
    return tuple(_bm_df(x, row) for row in ell)


_DESIGNS: dict[str, CoverageDesign] = {}


def _reparam(x: np.ndarray, ell: np.ndarray) -> tuple[np.ndarray, int]:
    """X T^-1 with T = I except row j = ell: coefficient j of the new design is ell' beta."""
    j = int(np.flatnonzero(np.abs(ell) > 0)[-1])
    t = np.eye(len(ell))
    t[j] = ell
    return x @ np.linalg.inv(t), j


def frequentist_intervals(
    y: np.ndarray,
    design: CoverageDesign,
    *,
    fit: str = "full",
    methods: Sequence[str] = OLS_METHODS,
    level: float = LEVEL,
    boot_seed: int = 0,
    boot_draws: int = 999,
) -> list[dict[str, Any]]:
    """Rows ``method, quantity, estimate, lower, upper, seconds`` for one data set."""
    import statsmodels.api as sm

    x, ell, names = design_matrix(design, fit)
    n, p = x.shape
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    res = sm.OLS(y, x).fit()
    est = ell @ res.params
    covs = {
        "OLS": res.cov_params(),
        "OLS-HC1": res.cov_HC1,
        "OLS-HC2": res.cov_HC2,
        "OLS-HC3": res.cov_HC3,
        "HC2-BM": res.cov_HC2,
    }
    base = time.perf_counter() - t0
    for m in [m for m in methods if m in OLS_METHODS]:
        t1 = time.perf_counter()
        se = np.sqrt(np.einsum("qi,ij,qj->q", ell, np.asarray(covs[m]), ell))
        if m == "HC2-BM":
            _DESIGNS.setdefault(design.digest, design)
            df = np.asarray(_bm_dfs(design.digest, fit))
        else:
            df = np.full(len(names), n - p, float)
        half = stats.t.ppf(0.5 + level / 2, df) * se
        sec = (time.perf_counter() - t1 + base) / len(names)
        rows += [
            {
                "method": m,
                "quantity": q,
                "estimate": e,
                "lower": e - h,
                "upper": e + h,
                "seconds": sec,
            }
            for q, e, h in zip(names, est, half, strict=True)
        ]
    if "wild-bootstrap" in methods:
        for q, e, row in zip(names, est, ell, strict=True):
            t1 = time.perf_counter()
            xr, j = _reparam(x, row)
            wb = wild_bootstrap_interval(y, xr, j, draws=boot_draws, level=level, seed=boot_seed)
            rows.append(
                {
                    "method": "wild-bootstrap",
                    "quantity": q,
                    "estimate": e,
                    "lower": wb["lower"],
                    "upper": wb["upper"],
                    "seconds": time.perf_counter() - t1,
                }
            )
    return rows


def wild_bootstrap_interval(
    y: np.ndarray,
    x: np.ndarray,
    j: int,
    *,
    draws: int = 999,
    level: float = LEVEL,
    seed: int = 0,
    weights: str = "rademacher",
) -> dict[str, float]:
    """``regression.freq.wild_bootstrap``'s interval (same weights, test and bisection), fast.

    The restricted wild bootstrap (WCR) inverts p(r) = P*(|t*(r)| >= |t(r)|), with HC1 t
    statistics of coefficient j against r. The restricted residuals are linear in r,
    u(r) = M_r y - r M_r x_j, so every bootstrap estimate is linear in r and every bootstrap HC1
    variance quadratic in r: after one O(n B) pass, p(r) costs O(B) and the bisection (same
    brackets and tolerance as the shared kernel) is ~50x cheaper. Agreement with
    ``wild_bootstrap`` is a unit test.
    """
    from bayesres.regression.freq import _boot_weights

    y = np.asarray(y, float)
    x = np.asarray(x, float)
    n, p = x.shape
    vm1 = _boot_weights(weights, n, draws, seed) - 1.0  # ystar = y + u(r) * (v - 1)
    a = np.linalg.solve(x.T @ x, x.T)  # p x n
    m_full = np.eye(n) - x @ a
    xr = np.delete(x, j, axis=1)
    m_r = np.eye(n) - xr @ np.linalg.solve(xr.T @ xr, xr.T)
    u0, w = m_r @ y, m_r @ x[:, j]
    aj = a[j]
    beta = a @ y
    c = n / (n - p)
    se0 = float(np.sqrt(c * (aj**2) @ (m_full @ y) ** 2))
    p0 = aj @ y + (aj * u0) @ vm1  # bootstrap beta_j(r) = p0 + r q0
    q0 = -((aj * w) @ vm1)
    e0 = m_full @ (y[:, None] + u0[:, None] * vm1)  # bootstrap residuals e0 - r e1
    e1 = m_full @ (w[:, None] * vm1)
    a2 = (aj**2)[:, None]
    s00, s01, s11 = ((a2 * e0 * e0).sum(0), (a2 * e0 * e1).sum(0), (a2 * e1 * e1).sum(0))

    def pval(r: float) -> float:
        var = c * np.maximum(s00 - 2 * r * s01 + r * r * s11, 0.0)
        tb = (p0 + r * q0 - r) / np.sqrt(var)
        t0 = (beta[j] - r) / se0
        return float(np.mean(np.abs(tb) >= abs(t0)))

    alpha = 1.0 - level

    def edge(direction: float) -> float:
        inside, step = float(beta[j]), se0
        outside = inside + direction * step
        for _ in range(40):
            if pval(outside) < alpha:
                break
            inside, outside = outside, outside + direction * step
            step *= 2
        for _ in range(40):
            mid = 0.5 * (inside + outside)
            if pval(mid) < alpha:
                outside = mid
            else:
                inside = mid
            if abs(outside - inside) < 1e-6 * max(se0, 1e-12):
                break
        return 0.5 * (inside + outside)

    return {"p_value": pval(0.0), "lower": edge(-1.0), "upper": edge(1.0), "draws": draws}


# --------------------------------------------------------------------------- Bayesian methods

HIER_TARGET_ACCEPT = 0.95


def start_target_accept(method: str) -> float:
    """Starting target_accept: 0.95 for the hierarchical variants, 0.9 otherwise.

    At 0.9 most hierarchical fits on this design diverge and are redone at 0.95 by the retry
    ladder (2 of 3 in a timing run), so starting there halves their cost; the ladder (0.99) stays.
    """
    return HIER_TARGET_ACCEPT if "hier" in method else 0.9


def bayesian_intervals(
    y: np.ndarray,
    design: CoverageDesign,
    *,
    method: str,
    seed: int,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    level: float = LEVEL,
    centre: str = "tier",
) -> list[dict[str, Any]]:
    """Rows for one Bayesian method: posterior median and equal-tailed interval per quantity.

    The model is the shipped ``regression.bayes`` variant fitted through ``fit_variant`` (compiled
    once per process, data swapped; divergence retry ladder as in the analysis).
    """
    from bayesres.calibrate.regression_models import coverage_fit
    from bayesres.config import SamplerSettings

    t0 = time.perf_counter()
    settings = SamplerSettings(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=1,
        seed=int(seed),
        target_accept=start_target_accept(method),
    )
    qs, res = coverage_fit(y, design, method=method, settings=settings, centre=centre)
    lo_q, hi_q = 0.5 - level / 2, 0.5 + level / 2
    sec = (time.perf_counter() - t0) / len(qs)
    return [
        {
            "method": method,
            "quantity": q,
            "estimate": float(np.median(d)),
            "lower": float(np.quantile(d, lo_q)),
            "upper": float(np.quantile(d, hi_q)),
            "seconds": sec,
            "divergences": int(res.report.divergences),
            "attempts": int(res.attempts),
            "r_hat": float(res.report.r_hat_max),
        }
        for q, d in qs.items()
    ]


# --------------------------------------------------------------------------- one replication


def resolve_methods(spec: str | Sequence[str]) -> tuple[str, ...]:
    """'all' | 'ols' | 'freq' | 'bayes' | comma list of method names -> ordered method tuple."""
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    out: list[str] = []
    for it in items:
        group = None if it in METHODS else METHOD_GROUPS.get(it.lower())
        for m in group or (it,):
            if m not in METHODS:
                raise SpecError(
                    f"unknown coverage method {m!r}",
                    hint=f"Use all, ols, freq, bayes or any of: {', '.join(METHODS)}.",
                )
            if m not in out:
                out.append(m)
    if not out:
        raise SpecError("no coverage method given", hint="Use --methods all.")
    return tuple(m for m in METHODS if m in out)


def scenario_seed(seed: int, scenario: str, rep: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed), int(scenario.lstrip("S")), int(rep)])


def coverage_replication(
    scenario: str,
    rep: int,
    *,
    design: CoverageDesign,
    methods: Sequence[str],
    seed: int,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    boot_draws: int = 999,
    centre: str = "tier",
) -> list[dict[str, Any]]:
    """All methods on replication ``rep`` of ``scenario``; seeds derive from (seed, scenario, rep)."""
    sc = SCENARIOS[scenario]
    y_ss, boot_ss, mcmc_ss = scenario_seed(seed, scenario, rep).spawn(3)
    y = simulate_y(design, sc, np.random.default_rng(y_ss))
    rows = frequentist_intervals(
        y,
        design,
        fit=sc.fit,
        methods=methods,
        boot_seed=int(boot_ss.generate_state(1)[0]),
        boot_draws=boot_draws,
    )
    mseed = int(mcmc_ss.generate_state(1)[0])
    for m in methods:
        if m in BAYES_METHODS:
            rows += bayesian_intervals(
                y,
                design,
                method=m,
                seed=mseed,
                draws=draws,
                tune=tune,
                chains=chains,
                centre=centre,
            )
    truth = truths(sc, design.tiers)
    for r in rows:
        r.update(scenario=scenario, rep=int(rep), truth=truth[r["quantity"]])
    return rows


def coverage_chunk(keys: Sequence[tuple[str, int]], **kw: Any) -> list[list[dict[str, Any]]]:
    return [coverage_replication(s, r, **kw) for s, r in keys]


# --------------------------------------------------------------------------- aggregation


def coverage_table(records: pd.DataFrame, *, reps: int | None = None) -> pd.DataFrame:
    """Metrics per (scenario, method, quantity), columns exactly ``COVERAGE_COLUMNS``.

    Rows are sorted by replication before reducing, so the table does not depend on the order in
    which replications finished.
    """
    if records is None or not len(records):
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    df = records if reps is None else records[records["rep"] < reps]
    df = df.sort_values(["scenario", "method", "quantity", "rep"], kind="stable")
    order = {m: i for i, m in enumerate(METHODS)}
    out = []
    for (sc, m, q), g in df.groupby(["scenario", "method", "quantity"], sort=False):
        truth = float(g["truth"].iloc[0])
        lo, hi, est = (g[c].to_numpy(float) for c in ("lower", "upper", "estimate"))
        covered = (lo <= truth) & (truth <= hi)
        n = len(g)
        cov = float(covered.mean())
        out.append(
            {
                "scenario": sc,
                "method": m,
                "quantity": q,
                "truth": truth,
                "reps": n,
                "coverage": cov,
                "mcse": float(np.sqrt(cov * (1 - cov) / n)),
                "mean_width": float(np.mean(hi - lo)),
                "rmse": float(np.sqrt(np.mean((est - truth) ** 2))),
                "rejection_rate": float(np.mean((lo > 0) | (hi < 0))),
                "_o": order.get(m, 99),
            }
        )
    table = pd.DataFrame(out).sort_values(["scenario", "_o", "quantity"], kind="stable")
    return table.drop(columns="_o").reset_index(drop=True)[COVERAGE_COLUMNS]


# --------------------------------------------------------------------------- study


def run_coverage(
    scenarios: Sequence[str],
    *,
    reps: int,
    out: Any,
    design: str = "customs38",
    methods: str | Sequence[str] = "all",
    seed: int = 0,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    boot_draws: int = 999,
    scheduler: str | None = None,
    workers: int = 2,
    chunk: int | None = None,
    progress: bool = False,
    max_new: int | None = None,
    figures: bool = True,
    centre: str = "tier",
) -> pd.DataFrame | None:
    """Run (or resume) a coverage study into ``out``; write ``coverage.csv`` and figures.

    One stored part per (scenario, rep); rerunning with the same folder skips finished keys.
    Returns the metrics table, or ``None`` when stopped early by ``max_new``.
    """
    from pathlib import Path

    from bayesres.calibrate.engine import execute
    from bayesres.calibrate.plots import plot_coverage
    from bayesres.calibrate.store import ReplicationStore
    from bayesres.io import atomic_write_csv

    if design == "ecommerce_panel":  # the DID analogue (calibrate.did_coverage)
        from bayesres.calibrate.did_coverage import DID_SCENARIOS, run_did_coverage

        if set(scenarios) == set(SCENARIOS):  # --scenario all
            scenarios = list(DID_SCENARIOS)
        return run_did_coverage(
            scenarios,
            reps=reps,
            out=out,
            methods=methods,
            seed=seed,
            draws=draws,
            tune=tune,
            chains=chains,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
            max_new=max_new,
        )
    bad = [s for s in scenarios if s not in SCENARIOS]
    if bad or not scenarios:
        raise SpecError(f"unknown scenario {', '.join(bad) or '(none)'}", hint="Use S1 to S6.")
    meths = resolve_methods(methods)
    from bayesres.regression.bayes import check_centre

    check_centre(centre)
    des = coverage_design(design, seed=seed)
    out = Path(out)
    uses_mcmc = any(m in BAYES_METHODS for m in meths)
    identity: dict[str, Any] = {
        "kind": "coverage",
        "design": design,
        "design_digest": des.digest,
        "seed": seed,
        "methods": list(meths),
        "boot_draws": boot_draws,
        "mcmc": [draws, tune, chains, HIER_TARGET_ACCEPT] if uses_mcmc else None,
    }
    if any(m in CENTRED_METHODS for m in meths):
        identity["centre"] = centre
        old = out / "study.json"
        if centre == "global" and old.exists() and "centre" not in json.loads(old.read_text()):
            del identity["centre"]  # a store made before the option existed: global centring
    store = ReplicationStore(out, identity=identity)
    done = store.done()
    keys = [(s, r) for s in scenarios for r in range(reps) if f"{s}-rep{r:06d}" not in done]
    if chunk is None:
        chunk = 2 if uses_mcmc else 25
    finished = execute(
        keys,
        coverage_chunk,
        lambda k, rows: store.write(f"{k[0]}-rep{k[1]:06d}", rows),
        task_kwargs={
            "design": des,
            "methods": meths,
            "seed": seed,
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "boot_draws": boot_draws,
            "centre": centre,
        },
        scheduler=scheduler,
        workers=workers,
        chunk=chunk,
        progress=progress,
        max_new=max_new,
        label="coverage " + ",".join(scenarios),
    )
    if finished < len(keys):
        return None
    records = store.consolidate(["scenario", "rep", "method", "quantity"])
    table = coverage_table(records, reps=reps)
    atomic_write_csv(table, out / "coverage.csv")
    if figures:
        plot_coverage(table, out / "figures")
    return table


# --------------------------------------------------------------------------- reporting


def merge_tables(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate coverage tables of separate runs (one per method group), in method order.

    A labelled variant of a method, "<method> (<label>)", sorts right after the method itself.
    """
    frames = [t for t in tables if t is not None and len(t)]
    if not frames:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    order = {m: float(i) for i, m in enumerate(METHODS)}

    def rank(method: str) -> float:
        if method in order:
            return order[method]
        return order.get(method.split(" (")[0], float(len(order))) + 0.5

    table = table.assign(_o=table["method"].map(rank))
    table = table.sort_values(["scenario", "_o", "quantity"], kind="stable")
    return table.drop(columns="_o").reset_index(drop=True)[COVERAGE_COLUMNS]


def coverage_markdown(table: pd.DataFrame, *, title: str = "Coverage", note: str = "") -> str:
    """Markdown table per scenario: method x quantity -> coverage (MCSE), width, RMSE, rejections.

    A coverage more than 2 MCSE below 0.95 is marked with ``*``; the rejection rate of 0 is the
    size of the test where the truth is 0 and its power elsewhere.
    """
    lines = [f"# {title}", ""]
    if note:
        lines += [note, ""]
    for sc, g in table.groupby("scenario", sort=True):
        desc = (
            SCENARIOS[sc].description
            if sc in SCENARIOS and "slope" in g["quantity"].iloc[0]
            else ""
        )
        lines += [f"## {sc}{': ' + desc if desc else ''}", ""]
        lines += [
            "| method | quantity | truth | R | coverage (MCSE) | mean width | RMSE | reject 0 |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in g.itertuples(index=False):
            flag = "*" if r.coverage < LEVEL - 2 * max(r.mcse, 1e-12) else ""
            lines.append(
                f"| {r.method} | {r.quantity} | {r.truth:.4g} | {r.reps} | "
                f"{r.coverage:.3f} ({r.mcse:.3f}){flag} | {r.mean_width:.4g} | "
                f"{r.rmse:.4g} | {r.rejection_rate:.3f} |"
            )
        lines.append("")
    return "\n".join(lines)
