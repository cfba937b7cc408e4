"""When to sample the ATT cells and the event-time walk centred (``centring="auto"``).

The non-centred ATT (tau_c = ... + s_c u_c, theta = th0 + s_th cumsum(rw)) suits cells the data
locate poorly; where the data pin every cell far more tightly than the cells spread (W3: 3,000
units x 20 periods, 30-264 units a cell), s_c * u_c and s_th * cumsum(rw) become ridges along
which only the scale moves, and a diagonal mass matrix mixes them slowly (Papaspiliopoulos,
Roberts and Skold 2007). A numpy pilot of the imputation estimates decides which regime a fit is
in (see :mod:`bayesres.did.bayes`, "Issue 8").
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: a group scale is learnt from >= this many groups, fixed below (bayesres.did.bayes._group_scale)
MIN_GROUPS_LEARNT_SCALE = 5

__all__ = ["CENTRE_RATIO", "MIN_GROUPS_LEARNT_SCALE", "choose_centring", "pilot_scales"]

CENTRE_RATIO = 2.0


def pilot_scales(
    y: np.ndarray,
    u_idx: np.ndarray,
    t_idx: np.ndarray,
    k_idx: np.ndarray,
    treated: np.ndarray,
    obs_cell: np.ndarray,
    cells: pd.DataFrame,
    shock_rows: list[int],
    q: np.ndarray,
) -> dict[str, float]:
    """Moment estimate of the spread s_c of the ATT cells around an additive event + cohort +
    tier surface, and the rms standard error se_cell with which the data locate one cell
    (standardised scale); numpy only, well under a second on W3. NaN where undefined.

    Untreated outcomes get unit + year (tier-year in shocked tiers) effects and the QR
    covariates by alternating projections; each treated cell's estimate is the mean residual of
    its observations (the BJS imputation estimator), with se^2 = within-cell variance / n. The
    additive least-squares fit of the cell estimates gives s_c^2 = RSS / df - mean(se^2).
    """
    out = dict(s_c=np.nan, se_cell=np.nan)
    n_t = int(t_idx.max()) + 1
    # tier-year shocks in shocked tiers, pooled year effects for all (code 0: no shock)
    shocked = np.isin(k_idx, shock_rows)
    kt = np.where(shocked, 1 + k_idx * n_t + t_idx, 0)
    ok = ~treated
    fes = [u_idx, t_idx, kt]
    sizes = [int(f.max()) + 1 for f in fes]
    counts = [np.bincount(f[ok], minlength=n) for f, n in zip(fes, sizes, strict=True)]
    effs = [np.zeros(n) for n in sizes]
    xb = np.zeros_like(y)
    for _ in range(50):
        for j, (f, n, c) in enumerate(zip(fes, sizes, counts, strict=True)):
            rest = y - xb - sum(effs[i][fes[i]] for i in range(3) if i != j)
            effs[j] = np.bincount(f[ok], rest[ok], n) / np.maximum(c, 1)
        effs[2][0] = 0.0
        if q.shape[1]:
            rest = y - sum(e[f] for e, f in zip(effs, fes, strict=True))
            xb = q @ np.linalg.lstsq(q[ok], rest[ok], rcond=None)[0]
    res = y - xb - sum(e[f] for e, f in zip(effs, fes, strict=True))
    dof = ok.sum() - sum(
        int((c[1:] if j == 2 else c).astype(bool).sum()) for j, c in enumerate(counts)
    )
    if dof < 2:
        return out
    sigma2 = float(np.sum(res[ok] ** 2) / dof)
    usable = treated & (counts[0][u_idx] > 0) & (counts[1][t_idx] > 0)
    usable &= (kt == 0) | (counts[2][kt] > 0)
    n_cells = len(cells)
    cnt = np.bincount(obs_cell[usable], minlength=n_cells + 1)[:n_cells].astype(float)
    if np.any(cnt == 0):
        return out
    s1 = np.bincount(obs_cell[usable], res[usable], n_cells + 1)[:n_cells]
    s2 = np.bincount(obs_cell[usable], res[usable] ** 2, n_cells + 1)[:n_cells]
    est = s1 / cnt
    var = np.where(cnt > 1, (s2 - cnt * est**2) / np.maximum(cnt - 1, 1), sigma2) / cnt
    cols = [
        np.eye(int(cells[c].max()) + 1)[cells[c].to_numpy()] for c in ("e_idx", "g_idx", "k_idx")
    ]
    x = np.column_stack([cols[0], cols[1][:, 1:], cols[2][:, 1:]])
    coef, _, rank, _ = np.linalg.lstsq(x, est, rcond=None)
    df = n_cells - rank
    if df < 1:
        return out
    rss = float(np.sum((est - x @ coef) ** 2))
    out["se_cell"] = float(np.sqrt(var.mean()))
    s_c2 = max(rss / df - var.mean(), 0.0)
    out["s_c"] = float(np.sqrt(s_c2))
    return out


def choose_centring(
    centring: str, pilot: Mapping[str, float], att_prior: str, n_events: int
) -> tuple[bool, bool]:
    """(centre the ATT cells, centre the event-time random walk).

    ``auto``: both are centred when the pilot spread of the cells (:func:`pilot_scales`) is
    more than CENTRE_RATIO times the standard error with which the data locate one cell: then
    the cells are pinned by the data, the regime where the non-centred form makes a ridge
    between a scale and its standard normals and the centred form has no funnel
    (Papaspiliopoulos, Roberts and Skold 2007); theta_e, the mean of the pinned cells of event
    e, is then pinned too, and the non-centred walk (s_th, rw) mixed as slowly. The walk only
    when its scale is learnt (>= MIN_GROUPS_LEARNT_SCALE steps; a fixed scale is a linear map).
    Measured ratios: ecommerce_panel 0.7, mpdta 0 (both non-centred, as before); W3 (3,000 x
    20, effects that differ by tier x event time) 5.7, 600 units 2.5.
    """
    if att_prior != "hierarchical" or centring == "noncentred":
        return False, False
    learnt_rw = n_events - 1 >= MIN_GROUPS_LEARNT_SCALE
    if centring == "centred":
        return True, learnt_rw
    s_c, se = pilot["s_c"], pilot["se_cell"]
    cells = bool(np.isfinite(s_c) and np.isfinite(se) and s_c > CENTRE_RATIO * se)
    return cells, cells and learnt_rw
