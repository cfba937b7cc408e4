"""Private design helpers for the frequentist DID twins: panel → bare arrays, FE projections.

Numpy kernels on bare arrays (``twoway_demean``, ``FEGram``) and one labelled
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
    "FEGram",
    "design",
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


class FEGram:
    """Least squares on unit + time dummies (+ dense x) through a sparse design.

    ``Z`` (n, N + T [+ p]) is kept sparse; the Gram matrix ``Z_s'Z_s`` of the rows ``rows`` is
    (N + T + p)-square and pseudo-inverted once (symmetric eigendecomposition), which copes with
    the unit / time collinearity. ``coef(a)`` fits columns of ``a`` (n_rows_s, ...) and
    ``resid(a)`` returns a - Z_s coef for the fitted rows.
    """

    def __init__(
        self,
        unit: np.ndarray,
        time: np.ndarray,
        x: np.ndarray | None = None,
        *,
        rows: np.ndarray | None = None,
    ) -> None:
        from scipy import sparse

        n = len(unit)
        n_u, n_t = int(unit.max()) + 1, int(time.max()) + 1
        r = np.arange(n)
        fe = sparse.csr_matrix(
            (np.ones(2 * n), (np.r_[r, r], np.r_[unit, n_u + time])), shape=(n, n_u + n_t)
        )
        self.z = (
            sparse.hstack([fe, sparse.csr_matrix(x)]).tocsr() if x is not None and x.size else fe
        )
        self.rows = np.ones(n, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
        self.zs = self.z[self.rows]
        gram = (self.zs.T @ self.zs).toarray()
        vals, vecs = np.linalg.eigh(gram)
        keep = vals > 1e-10 * vals.max()
        self.gram_pinv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T

    def coef(self, a: np.ndarray) -> np.ndarray:
        """Least-squares coefficients of ``a`` (fitted rows) on the design."""
        return self.gram_pinv @ (self.zs.T @ a)

    def resid(self, a: np.ndarray) -> np.ndarray:
        return a - self.zs @ self.coef(a)
