"""The exact entropy weight method, labelled: cross-sections, pooled or per-year panels, ranks.

The numpy kernel lives in :mod:`bayesres.index.entropy`; this module arranges a validated
:class:`~bayesres.validate.IndicatorTable` into bare arrays (:class:`IndexArrays`), runs the exact
method (methods.md section 1.1) and returns labelled pandas objects (:class:`EntropyIndex`).

Panels (methods.md section 1.1, P1/P2):

* ``pooled`` (default): every unit-year is a row, min / max over the whole panel, k = 1 / ln(nT),
  one weight vector; scores are comparable over time.
* ``per-year``: one exact EWM per period (k = 1 / ln n); each period has its own weights and scores.
  ``weight[<indicator>]`` is then the mean of the per-year weights (variant P3's weights),
  and ``weight[<indicator>,<time>]`` holds each year's.

A unit's *index score* in a panel (used for ``rank[<unit>]``, tier summaries and the index draws
handed to the regression) is the mean of its scores over the periods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayesres.config import ENTROPY_SHIFT
from bayesres.errors import SpecError
from bayesres.index.entropy import entropy_from_normalised, normalise
from bayesres.validate import IndicatorTable

__all__ = [
    "PANEL_MODES",
    "IndexArrays",
    "EntropyIndex",
    "arrays_from_table",
    "exact_entropy",
    "rank_desc",
    "rank_draws",
    "normalise_groups",
]

PANEL_MODES = ("pooled", "per-year")


# --------------------------------------------------------------------------- numpy kernels


def rank_desc(scores: np.ndarray) -> np.ndarray:
    """Ranks with 1 = highest score (ties share the best rank, as ``min`` ranking)."""
    from scipy.stats import rankdata

    return rankdata(-np.asarray(scores, dtype=float), method="min").astype(int)


def rank_draws(scores: np.ndarray) -> np.ndarray:
    """Ranks (1 = highest) along the last axis of a (draws x units) array, vectorised."""
    s = np.asarray(scores, dtype=float)
    order = np.argsort(-s, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(s.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, s.shape[-1] + 1)
    return ranks


def normalise_groups(
    x: np.ndarray, directions: np.ndarray, groups: np.ndarray, *, shift: float
) -> np.ndarray:
    """Min-max + shift within each group of rows (per-year panels); one group = plain normalise."""
    z = np.empty_like(np.asarray(x, dtype=float))
    for g in np.unique(groups):
        rows = groups == g
        z[rows] = normalise(x[rows], directions, shift=shift)
    return z


def unit_mean(values: np.ndarray, unit_codes: np.ndarray, n_units: int) -> np.ndarray:
    """Mean over the rows of each unit along the last axis: (..., rows) -> (..., n_units)."""
    m = np.zeros((values.shape[-1], n_units))
    m[np.arange(values.shape[-1]), unit_codes] = 1.0
    m /= m.sum(axis=0, keepdims=True)
    return values @ m


# --------------------------------------------------------------------------- arrays


@dataclass(frozen=True)
class IndexArrays:
    """A validated indicator table as bare arrays plus the labels to name them."""

    x: np.ndarray  # rows x m raw values
    directions: np.ndarray  # (m,) +1 / -1
    indicators: tuple[str, ...]
    dimensions: tuple[str, ...]  # dimension levels, first-seen order
    dim_index: np.ndarray  # (m,) index into ``dimensions``
    unit_codes: np.ndarray  # (rows,) index into ``units``
    units: tuple[str, ...]
    times: np.ndarray | None  # (rows,) time values or None
    time_levels: tuple  # sorted periods (empty for a cross-section)
    group: np.ndarray  # (rows,) weight-set index: 0 (pooled / cross-section) or period index
    panel: str  # "cross-section" | "pooled" | "per-year"
    tier_of_unit: tuple[str, ...] | None  # per unit, or None
    tiers: tuple[str, ...]

    @property
    def n_rows(self) -> int:
        return self.x.shape[0]

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def n_groups(self) -> int:
        return int(self.group.max()) + 1

    @property
    def group_labels(self) -> tuple:
        return self.time_levels if self.panel == "per-year" else ("all",)

    def row_labels(self) -> list[str]:
        """Quantity labels of the rows: ``unit`` or ``unit,time``."""
        units = np.asarray(self.units, dtype=object)[self.unit_codes]
        if self.times is None:
            return [str(u) for u in units]
        return [f"{u},{_fmt_time(t)}" for u, t in zip(units, self.times, strict=True)]


def _fmt_time(t: object) -> str:
    f = float(t)  # type: ignore[arg-type]
    return str(int(f)) if f.is_integer() else str(t)


def arrays_from_table(table: IndicatorTable, *, panel: str = "pooled") -> IndexArrays:
    """Bare arrays from a validated table; rows sorted by unit (first-seen order) then time."""
    if panel not in PANEL_MODES:
        raise SpecError(f"unknown panel mode {panel!r}", hint="Use pooled or per-year.")
    frame = table.frame
    codes, uniques = pd.factorize(frame[table.unit], sort=False)
    order = (
        np.lexsort((frame[table.time].to_numpy(),) + (codes,))
        if table.time
        else np.arange(len(frame))
    )
    frame = frame.iloc[order].reset_index(drop=True)
    codes = codes[order]
    spec = table.spec
    times = frame[table.time].to_numpy() if table.time else None
    time_levels: tuple = tuple(np.unique(times)) if times is not None else ()
    if times is None:
        mode, group = "cross-section", np.zeros(len(frame), dtype=int)
    elif panel == "per-year":
        mode, group = "per-year", np.searchsorted(np.asarray(time_levels), times)
    else:
        mode, group = "pooled", np.zeros(len(frame), dtype=int)
    tier_of_unit = None
    if table.tier:
        first = frame.drop_duplicates(table.unit)
        tier_of_unit = tuple(first[table.tier].astype(str))
    return IndexArrays(
        x=frame[list(spec.indicators)].to_numpy(dtype=float),
        directions=np.asarray(spec.directions, dtype=float),
        indicators=tuple(spec.indicators),
        dimensions=tuple(spec.dimension_levels),
        dim_index=spec.dimension_index,
        unit_codes=codes,
        units=tuple(str(u) for u in uniques),
        times=times,
        time_levels=time_levels,
        group=group,
        panel=mode,
        tier_of_unit=tier_of_unit,
        tiers=tuple(table.tiers),
    )


# --------------------------------------------------------------------------- exact method


@dataclass(frozen=True)
class EntropyIndex:
    """The exact EWM result, labelled. ``weights`` is the reported (mean) weight vector."""

    arrays: IndexArrays
    shift: float
    z: np.ndarray  # rows x m shifted normalised values
    group_weights: np.ndarray  # (groups, m)
    entropy: pd.DataFrame  # groups x indicators
    divergence: pd.DataFrame
    weights: pd.Series  # indicator
    dimension_weights: pd.Series  # dimension
    scores: pd.Series  # row label (unit or "unit,time")
    dimension_scores: pd.DataFrame  # rows x dimensions
    unit_scores: pd.Series  # unit (panel: mean over periods)
    ranks: pd.Series  # unit, 1 = highest unit score

    def weight_table(self) -> pd.DataFrame:
        a = self.arrays
        out = pd.DataFrame(
            {
                "indicator": a.indicators,
                "dimension": [a.dimensions[i] for i in a.dim_index],
                "direction": np.where(a.directions > 0, "positive", "negative"),
                "entropy": self.entropy.mean(axis=0).to_numpy(),
                "divergence": self.divergence.mean(axis=0).to_numpy(),
                "weight": self.weights.to_numpy(),
            }
        )
        return out

    def score_table(self) -> pd.DataFrame:
        a = self.arrays
        units = np.asarray(a.units, dtype=object)[a.unit_codes]
        out = pd.DataFrame({"unit": units})
        if a.times is not None:
            out["time"] = a.times
        out["score"] = self.scores.to_numpy()
        for d in a.dimensions:
            out[f"score_{d}"] = self.dimension_scores[d].to_numpy()
        return out


def weights_from_z(
    z: np.ndarray, group: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact (e, d, w) per weight set: each (groups, m)."""
    e, d, w = (np.empty((n_groups, z.shape[1])) for _ in range(3))
    for g in range(n_groups):
        e[g], d[g], w[g] = entropy_from_normalised(z[group == g])
    return e, d, w


def row_scores(weights: np.ndarray, z: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Scores per row for weights (..., groups, m): returns (..., rows)."""
    w = np.asarray(weights)
    if w.shape[-2] == 1:
        return w[..., 0, :] @ z.T
    out = np.empty(w.shape[:-2] + (z.shape[0],))
    for g in range(w.shape[-2]):
        rows = group == g
        out[..., rows] = w[..., g, :] @ z[rows].T
    return out


def exact_entropy(
    table: IndicatorTable | IndexArrays,
    *,
    shift: float = ENTROPY_SHIFT,
    panel: str = "pooled",
) -> EntropyIndex:
    """The exact entropy weight method on a validated table (the frequentist twin)."""
    if shift < 0:
        raise SpecError(f"shift must be >= 0 (got {shift})", hint="Use e.g. --shift 1e-4.")
    a = table if isinstance(table, IndexArrays) else arrays_from_table(table, panel=panel)
    z = normalise_groups(a.x, a.directions, a.group, shift=shift)
    e, d, w = weights_from_z(z, a.group, a.n_groups)
    scores = row_scores(w, z, a.group)
    labels = a.row_labels()
    n_dim = len(a.dimensions)
    dim_scores = np.zeros((a.n_rows, n_dim))
    for k in range(n_dim):
        cols = a.dim_index == k
        for g in range(a.n_groups):
            rows = a.group == g
            dim_scores[rows, k] = z[rows][:, cols] @ w[g, cols]
    w_mean = w.mean(axis=0)
    dim_w = np.bincount(a.dim_index, weights=w_mean, minlength=n_dim)
    u_scores = unit_mean(scores[None, :], a.unit_codes, a.n_units)[0]
    glabels = [str(g) for g in a.group_labels]
    return EntropyIndex(
        arrays=a,
        shift=float(shift),
        z=z,
        group_weights=w,
        entropy=pd.DataFrame(e, index=glabels, columns=list(a.indicators)),
        divergence=pd.DataFrame(d, index=glabels, columns=list(a.indicators)),
        weights=pd.Series(w_mean, index=list(a.indicators), name="weight"),
        dimension_weights=pd.Series(dim_w, index=list(a.dimensions), name="dimension_weight"),
        scores=pd.Series(scores, index=labels, name="score"),
        dimension_scores=pd.DataFrame(dim_scores, index=labels, columns=list(a.dimensions)),
        unit_scores=pd.Series(u_scores, index=list(a.units), name="unit_score"),
        ranks=pd.Series(rank_desc(u_scores), index=list(a.units), name="rank"),
    )
