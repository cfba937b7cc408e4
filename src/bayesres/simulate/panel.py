"""Generic staggered-adoption panel with known, heterogeneous treatment effects (synthetic).

For the DID recovery tests: effects grow with event time and differ by cohort and tier, so TWFE is
biased (Goodman-Bacon 2021; methods.md section 3.1) while imputation / Callaway-Sant'Anna /
the Bayesian ATT array can recover the truth.

Untreated outcome:  y0_it = mu + eta_k(i) + sigma_unit * a_i + gamma_t + eps_it
    eta_k   tier means (sigma_tier * N(0, 1), unit effects nested in tiers)
    gamma_t year effects (a random walk with step sigma_year)
    eps_it  AR(1) errors: eps_it = rho * eps_i,t-1 + sigma_noise * u_it (stationary start)
Observed:          y_it = y0_it + D_it * tau(g, e, k),  D_it = 1{cohort > 0 and t >= cohort}

The default effect is tau(g, e, k) = tier_mult[k] * (base + slope * e) + cohort_shift[g], with
tier multipliers evenly spaced from 0.5 to 1.5 (in the order of ``tiers``) and earlier cohorts
larger (cohort_shift = 0.25 * number of later cohorts). Pass a callable ``effects(g, e, k)`` to
choose another. Every row of the output is synthetic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesres.errors import SpecError

__all__ = ["PanelTruth", "default_effects", "simulate_staggered_panel"]

EffectFn = Callable[[int, int, str], float]


@dataclass(frozen=True)
class PanelTruth:
    """The truth behind a synthetic panel.

    ``cells``: one row per observed treated (cohort, event_time, tier) cell with n_units and tau;
    ``att_simple``: mean of tau over treated unit-periods (did::aggte "simple" with equal units);
    ``att_by_tier``: the same mean per tier; ``params``: generator settings.
    """

    cells: pd.DataFrame
    att_simple: float
    att_by_tier: dict[str, float]
    params: dict[str, Any] = field(default_factory=dict)


def default_effects(
    cohorts: list[int], tiers: list[str], *, base: float = 1.0, slope: float = 0.5
) -> EffectFn:
    """The default tau(g, e, k): grows with event time, larger for early cohorts, tier-scaled."""
    treated = sorted(c for c in cohorts if c > 0)
    shift = {g: 0.25 * (len(treated) - 1 - r) for r, g in enumerate(treated)}
    mult = dict(
        zip(tiers, np.linspace(0.5, 1.5, len(tiers)) if len(tiers) > 1 else [1.0], strict=True)
    )

    def tau(g: int, e: int, k: str) -> float:
        return float(mult[k] * (base + slope * e) + shift[g])

    return tau


def simulate_staggered_panel(
    *,
    n_units: int,
    n_periods: int,
    cohorts: dict[int, int],
    tiers: dict[str, int],
    effects: EffectFn | None = None,
    seed: int,
    first_period: int = 1,
    mu: float = 0.0,
    sigma_unit: float = 1.0,
    sigma_tier: float = 0.5,
    sigma_year: float = 0.3,
    sigma_noise: float = 1.0,
    rho: float = 0.0,
) -> tuple[pd.DataFrame, PanelTruth]:
    """Simulate a balanced staggered-adoption panel (synthetic) and its truth.

    ``cohorts`` maps adoption period (0 = never treated) to a number of units; ``tiers`` maps tier
    name to a number of units; both must sum to ``n_units``. Units are dealt to tiers in blocks and
    to cohorts by a seeded permutation (so cohort and tier are independent). Returns the long
    panel (unit, period, tier, cohort, event_time [-1000 for never treated], treated, y0, tau, y)
    and a :class:`PanelTruth`. The same seed gives the same numbers.
    """
    if sum(cohorts.values()) != n_units:
        raise SpecError(f"cohort sizes sum to {sum(cohorts.values())}, not n_units = {n_units}")
    if sum(tiers.values()) != n_units:
        raise SpecError(f"tier sizes sum to {sum(tiers.values())}, not n_units = {n_units}")
    if n_periods < 2:
        raise SpecError("n_periods must be at least 2")
    last = first_period + n_periods - 1
    bad = [g for g in cohorts if g != 0 and not first_period < g <= last]
    if bad:
        raise SpecError(
            f"cohorts {bad} fall outside ({first_period}, {last}]",
            hint="Every treated cohort needs at least one untreated period before adoption.",
        )
    if not -1 < rho < 1:
        raise SpecError("rho must lie in (-1, 1)")
    rng = np.random.default_rng(seed)
    tier_names = list(tiers)
    fx = effects if effects is not None else default_effects(list(cohorts), tier_names)

    tier_of = np.repeat(np.arange(len(tier_names)), list(tiers.values()))
    cohort_of = rng.permutation(np.repeat(list(cohorts), list(cohorts.values())))
    eta = sigma_tier * rng.standard_normal(len(tier_names))
    alpha = eta[tier_of] + sigma_unit * rng.standard_normal(n_units)
    gamma = np.cumsum(sigma_year * rng.standard_normal(n_periods))
    gamma -= gamma.mean()
    u = rng.standard_normal((n_units, n_periods))
    eps = np.empty_like(u)
    eps[:, 0] = sigma_noise * u[:, 0] / np.sqrt(1.0 - rho**2)
    for t in range(1, n_periods):
        eps[:, t] = rho * eps[:, t - 1] + sigma_noise * u[:, t]

    periods = first_period + np.arange(n_periods)
    y0 = mu + alpha[:, None] + gamma[None, :] + eps
    g = cohort_of[:, None]
    treated = (g > 0) & (periods[None, :] >= g)
    event = np.where(g > 0, periods[None, :] - g, -1000)
    tau = np.zeros_like(y0)
    for i, t in zip(*np.nonzero(treated), strict=True):
        tau[i, t] = fx(int(cohort_of[i]), int(event[i, t]), tier_names[tier_of[i]])

    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n_units), n_periods),
            "period": np.tile(periods, n_units),
            "tier": np.array(tier_names, dtype=object)[np.repeat(tier_of, n_periods)],
            "cohort": np.repeat(cohort_of, n_periods).astype(np.int64),
            "event_time": event.reshape(-1).astype(np.int64),
            "treated": treated.reshape(-1).astype(np.int64),
            "y0": y0.reshape(-1),
            "tau": tau.reshape(-1),
        }
    )
    df["y"] = df["y0"] + df["tau"]

    tr = df[df["treated"] == 1]
    cells = (
        tr.groupby(["cohort", "event_time", "tier"], sort=True)
        .agg(n_units=("unit", "nunique"), tau=("tau", "mean"))
        .reset_index()
    )
    truth = PanelTruth(
        cells=cells,
        att_simple=float(tr["tau"].mean()) if len(tr) else float("nan"),
        att_by_tier={k: float(v) for k, v in tr.groupby("tier")["tau"].mean().items()},
        params={
            "synthetic": True,
            "generator": "bayesres.simulate.panel:simulate_staggered_panel",
            "seed": seed,
            "n_units": n_units,
            "n_periods": n_periods,
            "first_period": first_period,
            "cohorts": dict(cohorts),
            "tiers": dict(tiers),
            "mu": mu,
            "sigma_unit": sigma_unit,
            "sigma_tier": sigma_tier,
            "sigma_year": sigma_year,
            "sigma_noise": sigma_noise,
            "rho": rho,
            "tier_effects": eta.tolist(),
            "year_effects": gamma.tolist(),
        },
    )
    return df, truth
