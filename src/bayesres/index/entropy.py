"""Exact entropy weight method (EWM): the frequentist twin of every index analysis.

Numpy kernels on bare arrays (methods.md section 1.1). Rows are units (cities) or unit-years in a
pooled panel; columns are indicators with a direction (+1 positive, -1 negative).

1. min-max normalise per column, reversed for negative indicators;
2. shift by ``delta`` (default 1e-4; with 0 the convention 0 * ln 0 = 0 applies);
3. shares p_ij = z'_ij / sum_i z'_ij; entropy e_j = -k sum_i p_ij ln p_ij with k = 1 / ln n;
4. divergence d_j = 1 - e_j; weight w_j = d_j / sum_k d_k; score S_i = sum_j w_j z'_ij.

The same kernel serves the Bayesian bootstrap: with unit weights pi (draws x clusters) the weighted
shares p_ij = pi_c(i) z'_ij / sum_i pi_c(i) z'_ij give one weight vector per draw, computed with three
matrix products and no (draws x rows x indicators) array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesres.config import ENTROPY_SHIFT

__all__ = [
    "EntropyResult",
    "normalise",
    "entropy_from_normalised",
    "entropy_weights",
    "xlogx",
]


def xlogx(z: np.ndarray) -> np.ndarray:
    """Elementwise z * ln z with the convention 0 * ln 0 = 0."""
    z = np.asarray(z, dtype=float)
    out = np.zeros_like(z)
    pos = z > 0
    out[pos] = z[pos] * np.log(z[pos])
    return out


def normalise(x: np.ndarray, directions: np.ndarray, *, shift: float = ENTROPY_SHIFT) -> np.ndarray:
    """Direction-aware min-max normalisation plus shift: returns z' with shape of ``x``.

    Raises ``ValueError`` for a constant column or a non-finite value; callers with file context
    (``bayesres.validate``) turn those into ``DataError`` before they reach here.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError("x must be 2-D (rows x indicators)")
    d = np.asarray(directions, dtype=float).reshape(-1)
    if d.shape[0] != x.shape[1] or not np.all(np.isin(d, (-1.0, 1.0))):
        raise ValueError("directions must hold +1 / -1, one per column")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains missing or non-finite values")
    lo, hi = x.min(axis=0), x.max(axis=0)
    rng = hi - lo
    if np.any(rng <= 0):
        raise ValueError(f"constant indicator column(s) {np.flatnonzero(rng <= 0).tolist()}")
    if shift < 0:
        raise ValueError("shift must be >= 0")
    z = np.where(d > 0, (x - lo) / rng, (hi - x) / rng)
    return z + shift


def entropy_from_normalised(
    z: np.ndarray,
    *,
    unit_weights: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entropies, divergences and weights from shifted normalised data ``z`` (rows x m).

    ``unit_weights``: None (plain EWM) or an array (draws x n_clusters) of nonnegative weights,
    one per cluster; ``clusters`` maps each row to its cluster (0..n_clusters-1; default one
    cluster per row). Returns (e, d, w), each (m,) or (draws, m). k = 1 / ln(rows).
    """
    z = np.asarray(z, dtype=float)
    n_rows, _ = z.shape
    k = 1.0 / np.log(n_rows)
    if unit_weights is None:
        col = z.sum(axis=0)
        p = z / col
        e = -k * xlogx(p).sum(axis=0)
    else:
        pi = np.atleast_2d(np.asarray(unit_weights, dtype=float))
        if clusters is None:
            zc, zlz = z, xlogx(z)
        else:
            clusters = np.asarray(clusters)
            n_c = pi.shape[1]
            zc = np.zeros((n_c, z.shape[1]))
            zlz = np.zeros((n_c, z.shape[1]))
            np.add.at(zc, clusters, z)
            np.add.at(zlz, clusters, xlogx(z))
        if pi.shape[1] != zc.shape[0]:
            raise ValueError("unit_weights must have one column per cluster")
        # sum_i p ln p with p = pi z / T:  (sum pi ln(pi) z + sum pi z ln z) / T - ln T
        t = pi @ zc
        a = xlogx(pi) @ zc
        b = pi @ zlz
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (a + b) / t - np.log(t)
        e = -k * s
    d = 1.0 - e
    w = d / d.sum(axis=-1, keepdims=True)
    return e, d, w


@dataclass(frozen=True)
class EntropyResult:
    """Exact EWM output on bare arrays (named by the caller)."""

    z: np.ndarray  # shifted normalised data, rows x m
    entropy: np.ndarray  # (m,)
    divergence: np.ndarray  # (m,)
    weights: np.ndarray  # (m,)
    scores: np.ndarray  # (rows,)
    shift: float

    def dimension_scores(self, dimension_index: np.ndarray, n_dimensions: int) -> np.ndarray:
        """Sub-index per dimension with the global weights: rows x n_dimensions."""
        out = np.zeros((self.z.shape[0], n_dimensions))
        for d in range(n_dimensions):
            cols = np.asarray(dimension_index) == d
            out[:, d] = self.z[:, cols] @ self.weights[cols]
        return out


def entropy_weights(
    x: np.ndarray, directions: np.ndarray, *, shift: float = ENTROPY_SHIFT
) -> EntropyResult:
    """The exact entropy weight method on a rows x indicators array."""
    z = normalise(x, directions, shift=shift)
    e, d, w = entropy_from_normalised(z)
    return EntropyResult(z=z, entropy=e, divergence=d, weights=w, scores=z @ w, shift=shift)
