"""Private design helpers for the frequentist DID twins: panel → bare arrays, FE projections.

Numpy kernels on bare arrays (``twoway_demean``, ``fe_basis``, ``residualise``) and one labelled
adapter (``design``) that turns a validated :class:`~bayesres.validate.Panel` into them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayesres.errors import SpecError
from bayesres.validate import Panel

__all__ = [
    "Design",
    "design",
    "fe_basis",
    "residualise",
    "twoway_demean",
    "resolve_controls",
    "fit_frame",
]

# standard column names of the frames handed to pyfixest / moderndid (no dots, no clashes)
UNIT, TIME, COHORT, Y, D = "unit_", "time_", "cohort_", "y_", "d_"


@dataclass(frozen=True)
class Design:
    """Bare arrays of a panel, rows in the panel frame's order."""

    unit: np.ndarray  # (n,) int codes 0..N-1
    time: np.ndarray  # (n,) int codes 0..T-1
    periods: np.ndarray  # (T,) calendar periods
    cohort: np.ndarray  # (n,) first treated period, 0 = never
    y: np.ndarray  # (n,)
    d: np.ndarray  # (n,) 0/1 treatment
    x: np.ndarray  # (n, p) controls
    balanced: bool

    @property
    def n_units(self) -> int:
        return int(self.unit.max()) + 1

    @property
    def n_periods(self) -> int:
        return len(self.periods)

    @property
    def unit_cohort(self) -> np.ndarray:
        """(N,) cohort of each unit code."""
        out = np.zeros(self.n_units, dtype=int)
        out[self.unit] = self.cohort
        return out


def resolve_controls(panel: Panel, controls: Sequence[str] | None) -> tuple[str, ...]:
    """``None`` means the panel's own controls; check that the columns exist."""
    ctrl = tuple(panel.controls if controls is None else controls)
    missing = [c for c in ctrl if c not in panel.frame.columns]
    if missing:
        raise SpecError(
            f"control column(s) {missing} not in the panel",
            file=panel.source,
            column=missing,
            hint="Pass controls that are columns of the validated panel.",
        )
    return ctrl


def design(
    panel: Panel,
    *,
    controls: Sequence[str] = (),
    treat: str | None = None,
    outcome: str | None = None,
) -> Design:
    """Arrays of ``panel`` (outcome defaults to ``panel.outcome``; treatment to the cohort rule)."""
    f = panel.frame
    yname = outcome or panel.outcome
    if not yname:
        raise SpecError("the panel has no outcome column", file=panel.source, hint="Pass outcome=.")
    unit, _ = pd.factorize(f[panel.unit], sort=True)
    periods = np.asarray(panel.periods, dtype=int)
    time = np.searchsorted(periods, f[panel.time].to_numpy(dtype=int))
    d = panel.treated if treat is None else f[treat].to_numpy(dtype=float)
    x = f[list(controls)].to_numpy(dtype=float) if controls else np.zeros((len(f), 0), dtype=float)
    return Design(
        unit=unit.astype(int),
        time=time.astype(int),
        periods=periods,
        cohort=f[panel.cohort].to_numpy(dtype=int),
        y=f[yname].to_numpy(dtype=float),
        d=np.asarray(d, dtype=float),
        x=x,
        balanced=panel.balanced,
    )


def fit_frame(
    panel: Panel,
    *,
    controls: Sequence[str] = (),
    treat: str | None = None,
    outcome: str | None = None,
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """A frame with standard names (unit_, time_, cohort_, y_, d_) plus controls and ``extra``."""
    f = panel.frame
    yname = outcome or panel.outcome
    out = pd.DataFrame(
        {
            UNIT: pd.factorize(f[panel.unit], sort=True)[0],
            TIME: f[panel.time].to_numpy(dtype=int),
            COHORT: f[panel.cohort].to_numpy(dtype=int),
            Y: f[yname].to_numpy(dtype=float),
            D: panel.treated if treat is None else f[treat].to_numpy(dtype=float),
        }
    )
    for c in dict.fromkeys([*controls, *extra]):
        out[c] = f[c].to_numpy()
    return out


# --------------------------------------------------------------------------- numpy kernels


def twoway_demean(a: np.ndarray) -> np.ndarray:
    """Two-way within transform of a balanced (..., N, T) array: a - ā_i. - ā_.t + ā.."""
    return (
        a
        - a.mean(axis=-1, keepdims=True)
        - a.mean(axis=-2, keepdims=True)
        + a.mean(axis=(-2, -1), keepdims=True)
    )


def fe_basis(
    unit: np.ndarray,
    time: np.ndarray,
    x: np.ndarray | None = None,
    *,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Orthonormal basis Q of span(unit dummies, time dummies[, x]) (dense QR, rank-revealed).

    ``rows`` (bool mask) restricts the design to a subset of observations (e.g. untreated ones).
    """
    n_u, n_t = int(unit.max()) + 1, int(time.max()) + 1
    sel = np.ones(len(unit), dtype=bool) if rows is None else rows
    z = np.zeros((int(sel.sum()), n_u + n_t), dtype=float)
    idx = np.arange(z.shape[0])
    z[idx, unit[sel]] = 1.0
    z[idx, n_u + time[sel]] = 1.0
    z = np.delete(z, n_u, axis=1)  # the first period's dummy duplicates the constant
    if x is not None and x.shape[1]:
        z = np.column_stack([z, x[sel]])
    q, r = np.linalg.qr(z)
    diag = np.abs(np.diag(r))
    keep = diag > 1e-10 * max(diag.max(), 1.0)
    if keep.all():
        return q
    # rank-deficient (the unit and time dummies share the constant): SVD basis instead
    u, s, _ = np.linalg.svd(z, full_matrices=False)
    return u[:, s > 1e-10 * s[0]]


def residualise(q: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Residual of ``a`` (n,) or (n, k) on the orthonormal basis ``q`` (n, r)."""
    return a - q @ (q.T @ a)
