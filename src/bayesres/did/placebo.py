"""Random staggered-assignment placebo for TWFE (003 §4.2.2), vectorised.

Each draw permutes the units' cohorts (so every cohort keeps its size, never-treated included),
rebuilds the fake treatment D_it = 1{g_i > 0, t >= g_i} and refits TWFE. By Frisch-Waugh-Lovell
the refit needs no regression: with M the annihilator of the unit + time fixed effects and the
controls, beta = (M d)'(M y) / (M d)'(M d). ``M y`` is computed once; ``M d`` for all draws at
once (balanced panels: two-way demeaning of a (draws, N, T) array, then partialling out the
demeaned controls; unbalanced: one pseudo-inverted Gram matrix of the sparse fixed-effect design). The p-value is the share
of draws with |beta_placebo| >= |beta_actual| (methods.md §3.7).
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bayesres.did._design import FEGram, design, twoway_demean
from bayesres.validate import Panel

__all__ = ["PlaceboResult", "placebo", "placebo_kernel", "plot_placebo"]


@dataclass(frozen=True)
class PlaceboResult:
    """Placebo TWFE estimates (one per draw), the actual estimate and the randomisation p-value."""

    estimates: np.ndarray
    actual: float
    p_value: float
    seconds: float
    cohorts: np.ndarray | None = None  # (draws, N) reassigned unit cohorts, kept for checks

    @property
    def draws(self) -> int:
        return int(self.estimates.size)


def _fake_treatment(cohorts: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """(draws, N) cohorts → (draws, N, T) 0/1 treatment."""
    g = cohorts[..., None]
    return ((g > 0) & (periods >= g)).astype(float)


def placebo_kernel(
    y: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    periods: np.ndarray,
    cohorts: np.ndarray,
    x: np.ndarray | None = None,
    *,
    balanced: bool,
) -> np.ndarray:
    """TWFE coefficients of fake treatments built from ``cohorts`` (draws, N): bare arrays.

    ``unit`` / ``time`` are 0-based codes per row, ``periods`` the calendar period of each time
    code, ``x`` (n, p) controls or None.
    """
    n_units, n_t = cohorts.shape[1], len(periods)
    has_x = x is not None and x.shape[1] > 0
    if balanced:
        # rows → (N, T) grid
        def grid(a: np.ndarray) -> np.ndarray:
            out = np.empty((n_units, n_t) + a.shape[1:], dtype=float)
            out[unit, time] = a
            return out

        yd = twoway_demean(grid(y))  # (N, T)
        dd = twoway_demean(_fake_treatment(cohorts, periods))  # (S, N, T)
        if has_x:
            xg = np.moveaxis(grid(x), -1, 0)  # (p, N, T)
            xd = twoway_demean(xg).reshape(xg.shape[0], -1).T  # (NT, p)
            qx, _ = np.linalg.qr(xd)
            yv = yd.reshape(-1)
            yv = yv - qx @ (qx.T @ yv)
            dv = dd.reshape(dd.shape[0], -1)
            dv = dv - (dv @ qx) @ qx.T
            return (dv @ yv) / np.einsum("ij,ij->i", dv, dv)
        num = np.einsum("snt,nt->s", dd, yd)
        return num / np.einsum("snt,snt->s", dd, dd)
    gram = FEGram(unit, time, x if has_x else None)
    yv = gram.resid(y)
    g = cohorts[:, unit]  # (S, n)
    d = ((g > 0) & (periods[time][None, :] >= g)).astype(float)
    dv = gram.resid(d.T).T
    return (dv @ yv) / np.einsum("ij,ij->i", dv, dv)


def placebo(
    panel: Panel,
    *,
    draws: int = 1000,
    seed: int = 0,
    controls: Sequence[str] = (),
    keep_cohorts: bool = False,
) -> PlaceboResult:
    """``draws`` random staggered reassignments (cohorts permuted across units) refitted by TWFE.

    ``actual`` is the TWFE coefficient of the real assignment (same controls); ``p_value`` the
    share of draws with |placebo| >= |actual|; ``seconds`` the wall time of the draws.
    """
    dz = design(panel, controls=tuple(controls))
    rng = np.random.default_rng(seed)
    start = _time.perf_counter()
    base = dz.unit_cohort
    perm = np.argsort(rng.random((draws, base.size)), axis=1)
    cohorts = base[perm]
    x = dz.x if controls else None
    est = placebo_kernel(dz.y, dz.unit, dz.time, dz.periods, cohorts, x, balanced=dz.balanced)
    seconds = _time.perf_counter() - start
    actual = float(
        placebo_kernel(dz.y, dz.unit, dz.time, dz.periods, base[None, :], x, balanced=dz.balanced)[
            0
        ]
    )
    p = float(np.mean(np.abs(est) >= abs(actual)))
    return PlaceboResult(
        estimates=est,
        actual=actual,
        p_value=p,
        seconds=seconds,
        cohorts=cohorts if keep_cohorts else None,
    )


def plot_placebo(result: PlaceboResult, *, ax=None, bins: int = 40):
    """Density of the placebo estimates (histogram + Gaussian KDE) with the actual estimate."""
    import matplotlib.pyplot as plt
    from scipy.stats import gaussian_kde

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    est = result.estimates
    ax.hist(est, bins=bins, density=True, alpha=0.35, color="C0", label="placebo draws")
    if est.size > 2 and np.ptp(est) > 0:
        grid = np.linspace(min(est.min(), result.actual), max(est.max(), result.actual), 400)
        ax.plot(grid, gaussian_kde(est)(grid), color="C0")
    ax.axvline(result.actual, color="C3", ls="--", label=f"actual {result.actual:.4f}")
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.set_xlabel("TWFE coefficient of the fake treatment")
    ax.set_ylabel("density")
    ax.set_title(f"Placebo: {result.draws} random staggered assignments, p = {result.p_value:.3f}")
    ax.legend(frameon=False)
    return ax.figure
