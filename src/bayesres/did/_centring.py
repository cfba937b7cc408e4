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

__all__ = [
    "CENTRE_RATIO",
    "MIN_GROUPS_LEARNT_SCALE",
    "centre_tier_terms",
    "choose_centring",
    "choose_forms",
    "pilot_scales",
]

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
    (standardised scale); likewise s_psi / se_psi for the tier terms of that surface
    (:func:`_tier_spread`); numpy only, well under a second on W3. NaN where undefined.

    Untreated outcomes get unit + year (tier-year in shocked tiers) effects and the QR
    covariates by alternating projections; each treated cell's estimate is the mean residual of
    its observations (the BJS imputation estimator), with se^2 = within-cell variance / n. The
    precision-weighted fit of the cell estimates on the additive surface gives s_c^2
    (:func:`_cell_spread`).
    """
    out = dict(s_c=np.nan, se_cell=np.nan, s_psi=np.nan, se_psi=np.nan)
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
    s_c2 = _cell_spread(est, var, x)
    if not np.isfinite(s_c2):
        return out
    out["se_cell"] = float(np.sqrt(var.mean()))
    out["s_c"] = float(np.sqrt(s_c2))
    out.update(
        _tier_spread(
            res[usable],
            x[obs_cell[usable]],
            u_idx[usable],
            cells,
            n_before=cols[0].shape[1] + cols[1].shape[1] - 1,
        )
    )
    return out


def _cell_spread(est: np.ndarray, var: np.ndarray, x: np.ndarray) -> float:
    """Method-of-moments estimate of the variance s_c^2 of the cells around the additive
    surface ``x``, each cell estimate ``est`` with sampling variance ``var``: the
    precision-weighted (DerSimonian-Laird) meta-regression estimator

        s_c^2 = max(0, (Q - df) / tr(P)),  P = W - W X (X'WX)^-1 X'W,  W = diag(1 / var),

    Q = est' P est the weighted residual sum of squares, df = cells - rank(X). With equal
    variances it is the unweighted RSS / df - var. Until session 9 the unweighted form was used
    with unequal variances too: noisy cells (a tier with a large sigma_k) then dominated the RSS,
    and an SBC data set with true s_c 0.016 got 1.43 (tier sigmas 0.06-2.91), was sampled with
    centred cells and kept 40 divergences at target_accept 0.99. NaN when df < 1."""
    w = 1.0 / np.maximum(var, 1e-12)  # a cell whose units agree exactly: near-certain
    xtw = x.T * w
    a_inv = np.linalg.pinv(xtw @ x)
    df = len(est) - int(np.linalg.matrix_rank(x))
    if df < 1:
        return np.nan
    q_stat = float(np.sum(w * (est - x @ (a_inv @ (xtw @ est))) ** 2))
    tr_p = float(w.sum() - np.trace(a_inv @ ((xtw * w) @ x)))
    return max((q_stat - df) / tr_p, 0.0)


def _tier_spread(
    r: np.ndarray,
    x: np.ndarray,
    clusters: np.ndarray,
    cells: pd.DataFrame,
    *,
    n_before: int,
) -> dict[str, float]:
    """Moment estimate of the spread s_psi of the tier terms, and the rms standard error
    se_psi of one tier term, on the model's scale.

    ``r`` are the imputation residuals of the treated observations, ``x`` their additive design
    (the columns of their cells: ``n_before`` event and cohort dummies, then tier dummies
    without the first tier) and ``clusters`` their units. The least-squares tier coefficients
    get a cluster-robust (by unit) covariance: a unit's residuals share the error of its
    imputed unit effect, so the cells of one tier are not independent (treating them so put
    pure noise at 3.4 standard errors on the ecommerce_panel design). The model's tier terms
    are psi = B z, z ~ N(0, s_psi^2 I_{K-1}), B an orthonormal basis of {x: w'x = 0} (w: treated
    share per tier, ``bayes._weighted_basis``). The estimate psi = (I - 1 w') t lies in that
    space, so |z|^2 = |psi|^2 and trace Cov(z) = trace Cov(psi), and no basis is needed:
    s_psi^2 = |psi|^2 / (K - 1) - se_psi^2 with se_psi^2 = trace Cov(psi) / (K - 1).
    """
    k_idx = cells["k_idx"].to_numpy()
    n_tiers = int(k_idx.max()) + 1
    nan = dict(s_psi=np.nan, se_psi=np.nan)
    if n_tiers < 2 or x.shape[1] != n_before + n_tiers - 1:
        return nan
    bread = np.linalg.pinv(x.T @ x)
    coef = bread @ (x.T @ r)
    e = r - x @ coef
    _, g = np.unique(clusters, return_inverse=True)
    n_g = int(g.max()) + 1
    if n_g < 2:
        return nan
    scores = np.zeros((n_g, x.shape[1]))
    np.add.at(scores, g, x * e[:, None])
    cov = bread @ (scores.T @ scores) @ bread * n_g / (n_g - 1)
    t_hat = np.r_[0.0, coef[n_before:]]
    c_t = np.zeros((n_tiers, n_tiers))
    c_t[1:, 1:] = cov[n_before:, n_before:]
    w = np.bincount(k_idx, weights=cells["n"].to_numpy(float), minlength=n_tiers)
    centre = np.eye(n_tiers) - np.outer(np.ones(n_tiers), w / w.sum())
    psi = centre @ t_hat
    se2 = float(np.trace(centre @ c_t @ centre.T)) / (n_tiers - 1)
    s2 = max(float(psi @ psi) / (n_tiers - 1) - se2, 0.0)
    return dict(s_psi=float(np.sqrt(s2)), se_psi=float(np.sqrt(se2)))


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
    Measured ratios (s_c by :func:`_cell_spread` since session 9; before it, in brackets, the
    unweighted moment estimate): ecommerce_panel 0.69 (0.73), mpdta 0 (0), both non-centred;
    the Table 7 splits central 1.57 (1.69), resource 1.09 (1.77), size 1.41 (2.06: centred
    then, and its first attempt diverged at target_accept 0.95 in 4 of 4 seeds, at s_c ~0.03);
    W3 (3,000 x 20, effects that differ by tier x event time) 4.93 (5.68), 600 units 2.07
    (2.53), both centred.
    """
    if att_prior != "hierarchical" or centring == "noncentred":
        return False, False
    learnt_rw = n_events - 1 >= MIN_GROUPS_LEARNT_SCALE
    if centring == "centred":
        return True, learnt_rw
    s_c, se = pilot["s_c"], pilot["se_cell"]
    cells = bool(np.isfinite(s_c) and np.isfinite(se) and s_c > CENTRE_RATIO * se)
    return cells, cells and learnt_rw


def centre_tier_terms(
    centring: str, pilot: Mapping[str, float], att_prior: str, *, learnt: bool
) -> bool:
    """Sample the tier terms psi centred (z_psi ~ N(0, s_psi)) rather than as s_psi * N(0, 1).

    ``auto``: centred when their scale is fixed (fewer than MIN_GROUPS_LEARNT_SCALE tiers of
    two or more treated units: both forms are then the same linear map, and centred keeps the
    draws of every fit made before this rule), and when the pilot spread of the tier terms is
    more than CENTRE_RATIO times the standard error of one term (:func:`_tier_spread`): the
    tiers are pinned by the data, where the non-centred s_psi / z_psi formed a ridge on
    ecommerce_panel (pilot ratio 2.5; see ``bayes``). Non-centred below it, where a centred psi
    is a funnel at small s_psi. Measured on the 150 prior simulations of SBC's ecommerce_panel
    study (session 7, centred psi everywhere): the first attempt at target_accept 0.95 diverged
    in 14 of 60 fits with ratio <= 1, 3 of 47 in (1, 2] and 3 of 43 above 2; the one fit that
    still diverged at 0.99 (sim 131, ratio 0.29) did so at s_psi = 0.004, against a posterior
    5 % quantile of 0.028, and had no divergence at 0.95 non-centred. Pure noise on that design
    gives ratios above 2 in 3 of 40 draws. ``centred`` / ``noncentred`` force the form (with a
    learnt scale).
    """
    if att_prior != "hierarchical" or not learnt:
        return True
    if centring != "auto":
        return centring == "centred"
    s_psi, se = pilot.get("s_psi", np.nan), pilot.get("se_psi", np.nan)
    return bool(np.isfinite(s_psi) and np.isfinite(se) and s_psi > CENTRE_RATIO * se)


def choose_forms(
    centring: str,
    pilot: Mapping[str, float],
    att_prior: str,
    *,
    cells: pd.DataFrame,
    n_tiers: int,
    n_tier_groups: int,
) -> dict[str, bool]:
    """The three choices ``did_design`` records (``centre_cells``, ``centre_rw``,
    ``centre_psi``) from one pilot (:func:`pilot_scales`); the SBC adapters call it too, so a
    simulated data set is fitted in the form the analysis would pick. ``n_tier_groups``: tiers
    with two or more treated units (their scale is learnt from >= MIN_GROUPS_LEARNT_SCALE)."""
    centre_cells, centre_rw = choose_centring(
        centring, pilot, att_prior, int(cells["event"].max()) + 1
    )
    learnt = n_tiers > 1 and n_tier_groups >= MIN_GROUPS_LEARNT_SCALE
    return {
        "centre_cells": centre_cells,
        "centre_rw": centre_rw,
        "centre_psi": centre_tier_terms(centring, pilot, att_prior, learnt=learnt),
    }
