"""DID coverage at fixed true effects on the ecommerce_panel design (methods.md sections 2.6, 4).

Design: the bundled ``ecommerce_panel``'s 248 cities x 2012-2021 with their real tiers and
cohorts (five cohorts incl. the one-city 2015 cohort; the four-city 'first' and fifteen-city
'new_first' tiers have no never-treated city). Outcomes are synthetic, on the scale of the
panel's ``resi`` (mean 0.097; unit-effect sd 0.049, two-way residual sd 0.012 and residual AR(1)
0.66 on the bundled data). Fixed once from the design seed (coverage is conditional on them):

    y0_it = 0.097 + alpha_i + gamma_t + eps_it
    alpha_i = lambda_g(i) + eta_k(i) + 0.045 z_i    (unit effects correlated with cohort and tier)
    gamma_t = 0.006 (t - 2016.5) + 0.002 random walk   (common trend: parallel trends hold)
    tau(g, e, k) = m_k (0.010 + 0.004 e) + 0.003 (number of later cohorts of g)
    m = first 1.6, new_first 1.3, second 1.0, third 0.8, other 0.6

so effects grow with event time and differ by cohort and tier (TWFE's forbidden comparisons
bite). Per replication only eps is redrawn: S1 iid N(0, 0.012^2); S2 stationary AR(1) with
rho 0.66 and the same marginal sd (the bundled data's serial correlation).

Estimands: ``ATT`` = mean of tau over treated city-years (did::aggte "simple": the n_g-weighted
ATT(g, t)); ``ATT_tier[k]`` = the same within tier k. Methods (95 % intervals):
``TWFE`` (unit-clustered, ``did.freq.twfe``), ``CS`` (Callaway-Sant'Anna, never-treated
control), ``SA`` (Sun-Abraham), ``BJS`` (imputation) from ``did.freq``; tier ATTs of the
frequentist methods come from the same estimator on the sub-panel of tier k's cities plus every
never-treated city (the 'first' / 'new_first' tiers have none of their own). ``bayes-hier`` is
the shipped hierarchical DID (``did.bayes.fit_did``, leads 4, target_accept 0.95, equal-tailed
95 % intervals of the cell-version aggregates of ``did.bayes_quantities``) and ``bayes-hier-imp``
the imputation version of the same fit. One compiled model per worker (same structure key).
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesres.errors import SpecError

__all__ = [
    "DID_SCENARIOS",
    "DID_METHODS",
    "DidCoverageDesign",
    "did_coverage_design",
    "simulate_outcome",
    "did_truths",
    "did_replication",
    "run_did_coverage",
]

DATASET = "ecommerce_panel"
LEVEL = 0.95
Y_MEAN, UNIT_SD, NOISE_SD, AR_RHO = 0.097, 0.045, 0.012, 0.66
TIER_MULT = {"first": 1.6, "new_first": 1.3, "second": 1.0, "third": 0.8, "other": 0.6}
TIER_LEVEL = {"first": 0.08, "new_first": 0.04, "second": 0.01, "third": -0.01, "other": -0.02}
TAU_BASE, TAU_SLOPE, COHORT_STEP = 0.010, 0.004, 0.003
DID_SCENARIOS = {
    "S1": "heterogeneous effects, iid errors",
    "S2": "heterogeneous effects, AR(1) errors rho 0.66",
}
FREQ_METHODS = ("TWFE", "CS", "SA", "BJS")
BAYES_METHODS = ("bayes-hier", "bayes-hier-imp")
DID_METHODS = FREQ_METHODS + BAYES_METHODS
METHOD_GROUPS = {"freq": FREQ_METHODS, "bayes": BAYES_METHODS, "all": DID_METHODS}


@dataclasses.dataclass(frozen=True)
class DidCoverageDesign:
    """The fixed design: long frame (unit, year, tier, cohort, treated, y0_mean, tau)."""

    frame: pd.DataFrame = dataclasses.field(repr=False)
    tiers: tuple[str, ...]
    periods: tuple[int, ...]

    @property
    def n_units(self) -> int:
        return int(self.frame["city"].nunique())

    @property
    def digest(self) -> str:
        import hashlib

        h = hashlib.sha256(self.frame[["y0_mean", "tau"]].to_numpy().tobytes())
        return h.hexdigest()[:16]


def effect(g: int, e: int, k: str, later: int) -> float:
    """tau(g, e, k) of the design (``later`` = number of cohorts adopting after g)."""
    return TIER_MULT[k] * (TAU_BASE + TAU_SLOPE * e) + COHORT_STEP * later


@functools.lru_cache(maxsize=4)
def did_coverage_design(seed: int = 0) -> DidCoverageDesign:
    """Units, tiers and cohorts of ``ecommerce_panel``; unit and year effects drawn from ``seed``."""
    from bayesres import datasets

    raw = datasets.load(DATASET)
    units = raw.groupby("city", sort=True)[["tier", "cohort"]].first()
    years = np.sort(raw["year"].unique()).astype(int)
    cohorts = sorted(int(c) for c in units["cohort"].unique() if c > 0)
    later = {g: len(cohorts) - 1 - i for i, g in enumerate(cohorts)}
    lam = {0: -0.01, **{g: 0.005 * later[g] for g in cohorts}}
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xD1D]))
    alpha = (
        units["cohort"].map(lam).to_numpy()
        + units["tier"].map(TIER_LEVEL).to_numpy()
        + UNIT_SD * rng.standard_normal(len(units))
    )
    gamma = 0.006 * (years - years.mean()) + np.cumsum(0.002 * rng.standard_normal(len(years)))
    n, t = len(units), len(years)
    g = np.repeat(units["cohort"].to_numpy(int), t)
    k = np.repeat(units["tier"].to_numpy(object), t)
    yr = np.tile(years, n)
    treated = (g > 0) & (yr >= g)
    tau = np.array(
        [
            effect(gi, yi - gi, ki, later[gi]) if d else 0.0
            for gi, yi, ki, d in zip(g, yr, k, treated, strict=True)
        ]
    )
    frame = pd.DataFrame(
        {
            "city": np.repeat(units.index.to_numpy(), t),
            "year": yr,
            "tier": k,
            "cohort": g,
            "treated": treated.astype(int),
            "y0_mean": Y_MEAN + np.repeat(alpha, t) + np.tile(gamma, n),
            "tau": tau,
        }
    )
    return DidCoverageDesign(
        frame=frame, tiers=tuple(TIER_MULT), periods=tuple(int(y) for y in years)
    )


def did_truths(design: DidCoverageDesign) -> dict[str, float]:
    tr = design.frame[design.frame["treated"] == 1]
    out = {"ATT": float(tr["tau"].mean())}
    for k in design.tiers:
        out[f"ATT_tier[{k}]"] = float(tr.loc[tr["tier"] == k, "tau"].mean())
    return out


def simulate_outcome(
    design: DidCoverageDesign, scenario: str, rng: np.random.Generator
) -> np.ndarray:
    """y = y0_mean + tau + eps, eps iid (S1) or stationary AR(1) (S2) within city."""
    n, t = design.n_units, len(design.periods)
    u = rng.standard_normal((n, t))
    if scenario == "S2":
        eps = np.empty_like(u)
        eps[:, 0] = u[:, 0]
        for j in range(1, t):
            eps[:, j] = AR_RHO * eps[:, j - 1] + np.sqrt(1 - AR_RHO**2) * u[:, j]
        u = eps
    elif scenario != "S1":
        raise SpecError(f"unknown DID scenario {scenario!r}", hint="Use S1 or S2.")
    f = design.frame
    return f["y0_mean"].to_numpy() + f["tau"].to_numpy() + NOISE_SD * u.reshape(-1)


@functools.lru_cache(maxsize=4)
def _base_panels(seed: int) -> dict[str, Any]:
    """Validated panels (full and per-tier sub-panels) with a placeholder outcome."""
    from bayesres.validate import validate_panel

    design = did_coverage_design(seed)
    frame = design.frame[["city", "year", "tier", "cohort"]].assign(y=0.0)
    with warnings.catch_warnings():  # small-tier DataWarnings belong to the analysis
        warnings.simplefilter("ignore")
        full = validate_panel(
            frame,
            source="did-coverage",
            unit="city",
            time="year",
            cohort="cohort",
            outcome="y",
            tier="tier",
        )
        subs = {}
        for k in design.tiers:
            rows = (frame["tier"] == k) | (frame["cohort"] == 0)
            subs[k] = validate_panel(
                frame[rows],
                source=f"did-coverage {k}",
                unit="city",
                time="year",
                cohort="cohort",
                outcome="y",
            )
    return {
        "full": full,
        "subs": subs,
        "rows": {
            k: ((frame["tier"] == k) | (frame["cohort"] == 0)).to_numpy() for k in design.tiers
        },
    }


def _with_y(panel: Any, y: np.ndarray) -> Any:
    frame = panel.frame.copy()
    frame[panel.outcome] = y
    return dataclasses.replace(panel, frame=frame)


def _freq_one(method: str, panel: Any, level: float) -> tuple[float, float, float]:
    from bayesres.did import freq

    if method == "TWFE":
        tab, q = freq.twfe(panel, controls=(), level=level), "TWFE"
    elif method == "CS":
        tab, q = freq.callaway_santanna(panel, control_group="never", level=level).aggregates, "ATT"
    elif method == "SA":
        tab, q = freq.sun_abraham(panel, level=level), "SA"
    else:
        tab, q = freq.bjs_imputation(panel, level=level).overall, "BJS"
    r = tab.loc[tab["quantity"] == q].iloc[0]
    return float(r["estimate"]), float(r["lower"]), float(r["upper"])


def frequentist_rows(
    y: np.ndarray, *, seed: int, methods: Sequence[str], level: float = LEVEL
) -> list[dict[str, Any]]:
    base = _base_panels(seed)
    full = _with_y(base["full"], y)
    rows = []
    for m in [m for m in methods if m in FREQ_METHODS]:
        t0 = time.perf_counter()
        targets = [("ATT", full)] + [
            (f"ATT_tier[{k}]", _with_y(p, y[base["rows"][k]])) for k, p in base["subs"].items()
        ]
        for q, p in targets:
            est, lo, hi = _freq_one(m, p, level)
            rows.append({"method": m, "quantity": q, "estimate": est, "lower": lo, "upper": hi})
        sec = (time.perf_counter() - t0) / len(targets)
        for r in rows[-len(targets) :]:
            r["seconds"] = sec
    return rows


def bayes_rows(
    y: np.ndarray,
    *,
    seed: int,
    mcmc_seed: int,
    methods: Sequence[str],
    draws: int,
    tune: int,
    chains: int,
    level: float = LEVEL,
) -> list[dict[str, Any]]:
    from bayesres.config import SamplerSettings
    from bayesres.did import bayes_quantities
    from bayesres.did.bayes import fit_did

    if not any(m in BAYES_METHODS for m in methods):
        return []
    panel = _with_y(_base_panels(seed)["full"], y)
    settings = SamplerSettings(
        draws=draws, tune=tune, chains=chains, cores=1, seed=int(mcmc_seed), target_accept=0.95
    )
    t0 = time.perf_counter()
    res, design = fit_did(panel, settings=settings, leads=4)
    cell_q, imp_q, _ = bayes_quantities(res.idata, design)
    sec = time.perf_counter() - t0
    lo_q, hi_q = 0.5 - level / 2, 0.5 + level / 2
    rows = []
    for m, q_all, prefix in (("bayes-hier", cell_q, "ATT"), ("bayes-hier-imp", imp_q, "BJS")):
        if m not in methods:
            continue
        for q in ["ATT"] + [f"ATT_tier[{k}]" for k in TIER_MULT]:
            d = np.asarray(q_all[prefix + q[3:]], float).reshape(-1)
            lo, hi = np.quantile(d, [lo_q, hi_q])
            rows.append(
                {
                    "method": m,
                    "quantity": q,
                    "estimate": float(np.median(d)),
                    "lower": float(lo),
                    "upper": float(hi),
                    "seconds": sec,
                    "divergences": int(res.report.divergences),
                    "r_hat": float(res.report.r_hat_max),
                    "attempts": int(res.attempts),
                }
            )
    return rows


def did_replication(
    scenario: str,
    rep: int,
    *,
    seed: int,
    methods: Sequence[str],
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
) -> list[dict[str, Any]]:
    """All methods on replication ``rep``; seeds derive from (seed, scenario, rep)."""
    design = did_coverage_design(seed)
    y_ss, mcmc_ss = np.random.SeedSequence(
        [int(seed), 0xD1D, int(scenario.lstrip("S")), int(rep)]
    ).spawn(2)
    y = simulate_outcome(design, scenario, np.random.default_rng(y_ss))
    rows = frequentist_rows(y, seed=seed, methods=methods)
    rows += bayes_rows(
        y,
        seed=seed,
        mcmc_seed=int(mcmc_ss.generate_state(1)[0]),
        methods=methods,
        draws=draws,
        tune=tune,
        chains=chains,
    )
    truth = did_truths(design)
    for r in rows:
        r.update(scenario=scenario, rep=int(rep), truth=truth[r["quantity"]])
    return rows


def did_chunk(keys: Sequence[tuple[str, int]], **kw: Any) -> list[list[dict[str, Any]]]:
    return [did_replication(s, r, **kw) for s, r in keys]


def resolve_did_methods(spec: str | Sequence[str]) -> tuple[str, ...]:
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    out: list[str] = []
    for it in items:
        for m in METHOD_GROUPS.get(it.lower(), (it,)):
            if m not in DID_METHODS:
                raise SpecError(
                    f"unknown DID coverage method {m!r}",
                    hint=f"Use all, freq, bayes or any of: {', '.join(DID_METHODS)}.",
                )
            out.append(m)
    if not out:
        raise SpecError("no coverage method given", hint="Use --methods all.")
    return tuple(m for m in DID_METHODS if m in out)


def run_did_coverage(
    scenarios: Sequence[str],
    *,
    reps: int,
    out: Any,
    methods: str | Sequence[str] = "all",
    seed: int = 0,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    scheduler: str | None = None,
    workers: int = 2,
    progress: bool = False,
    max_new: int | None = None,
) -> pd.DataFrame | None:
    """Run (or resume) the DID coverage study into ``out``; writes ``coverage.csv``."""
    from pathlib import Path

    from bayesres.calibrate.engine import execute
    from bayesres.calibrate.store import ReplicationStore
    from bayesres.io import atomic_write_csv

    bad = [s for s in scenarios if s not in DID_SCENARIOS]
    if bad or not scenarios:
        raise SpecError(f"unknown DID scenario {', '.join(bad) or '(none)'}", hint="Use S1 or S2.")
    meths = resolve_did_methods(methods)
    des = did_coverage_design(seed)
    uses_mcmc = any(m in BAYES_METHODS for m in meths)
    out = Path(out)
    store = ReplicationStore(
        out,
        identity={
            "kind": "coverage",
            "design": DATASET,
            "design_digest": des.digest,
            "seed": seed,
            "methods": list(meths),
            "mcmc": [draws, tune, chains, 0.95, "leads 4"] if uses_mcmc else None,
        },
    )
    done = store.done()
    keys = [(s, r) for r in range(reps) for s in scenarios if f"{s}-rep{r:06d}" not in done]
    finished = execute(
        keys,
        did_chunk,
        lambda k, rows: store.write(f"{k[0]}-rep{k[1]:06d}", rows),
        task_kwargs={
            "seed": seed,
            "methods": meths,
            "draws": draws,
            "tune": tune,
            "chains": chains,
        },
        scheduler=scheduler,
        workers=workers,
        chunk=1 if uses_mcmc else 5,
        progress=progress,
        max_new=max_new,
        label="DID coverage " + ",".join(scenarios),
    )
    if finished < len(keys):
        return None
    records = store.consolidate(["scenario", "rep", "method", "quantity"])
    table = did_coverage_table(records, reps=reps)
    atomic_write_csv(table, out / "coverage.csv")
    return table


def did_coverage_table(records: pd.DataFrame, *, reps: int | None = None) -> pd.DataFrame:
    """``coverage.coverage_table`` with the DID methods' order."""
    from bayesres.calibrate.coverage import coverage_table

    table = coverage_table(records, reps=reps)
    if not len(table):
        return table
    order = {m: i for i, m in enumerate(DID_METHODS)}
    table = table.assign(_o=table["method"].map(order).fillna(99))
    return (
        table.sort_values(["scenario", "_o", "quantity"], kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )
