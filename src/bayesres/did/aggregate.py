"""Aggregations of ATT draws with the Callaway-Sant'Anna (did::aggte) weights, per draw.

Numpy kernels on ``(S, C)`` arrays (S draws, C cells) first, then a labelled wrapper that returns
``{quantity name: draws}``. Cells are (cohort g, event time e, tier k) with unit counts n; pre-period
(lead) cells have e < 0. Following methods.md section 3.6 and did::aggte:

* simple   = sum_{e>=0} n tau / sum n;
* group    theta(g) = mean_{e>=0} tau_{g,e} (tiers pooled by n), overall sum_g n_g theta(g) / sum n_g;
* dynamic  theta(e) = sum_g n_g tau_{g,e} / sum n_g, overall = mean_{e>=0} theta(e);
* calendar theta(t) = sum_{g<=t} n_g tau_{g,t-g} / sum n_g, overall = mean_t theta(t);
* tier     ATT_k = simple within tier; contrasts Delta = ATT_k - ATT_k' with P(Delta > 0) and
  P(|Delta| < ROPE);
* TWFE-implied functional sum w^dCDH tau (de Chaisemartin & D'Haultfoeuille 2020 weights);
* simultaneous bands over event time from the max-|t| envelope of the draws.

All of these are linear in tau, so the aggregate of the posterior mean equals the posterior mean
of the aggregate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "aggregate_draws",
    "calendar_att",
    "dcdh_obs_weights",
    "dynamic_att",
    "group_att",
    "gt_att",
    "simple_att",
    "simultaneous_band",
    "tier_att",
    "tier_contrasts",
    "twfe_functional",
]


def _as2d(tau: np.ndarray) -> np.ndarray:
    tau = np.asarray(tau, dtype=float)
    return tau[None, :] if tau.ndim == 1 else tau


def _pool(
    tau: np.ndarray, n: np.ndarray, groups: np.ndarray
) -> tuple[list, np.ndarray, np.ndarray]:
    """n-weighted mean of cells sharing a group label: (labels, (S, L) means, (L,) total n)."""
    labels = list(dict.fromkeys(map(tuple, groups.tolist())))
    idx = {lab: i for i, lab in enumerate(labels)}
    code = np.array([idx[tuple(r)] for r in groups.tolist()])
    w = np.zeros((len(n), len(labels)))
    w[np.arange(len(n)), code] = n
    tot = w.sum(axis=0)
    return labels, tau @ (w / tot), tot


def simple_att(tau: np.ndarray, *, event: np.ndarray, n: np.ndarray) -> np.ndarray:
    tau = _as2d(tau)
    post = np.asarray(event) >= 0
    n = np.asarray(n, float)
    return tau[:, post] @ n[post] / n[post].sum()


def gt_att(
    tau: np.ndarray, *, cohort: np.ndarray, event: np.ndarray, n: np.ndarray
) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
    """Cells pooled over tiers into (g, t) cells: labels, (S, GT) draws, n per (g, t)."""
    tau = _as2d(tau)
    cohort, event = np.asarray(cohort, int), np.asarray(event, int)
    labels, draws, tot = _pool(tau, np.asarray(n, float), np.column_stack([cohort, cohort + event]))
    return [(int(g), int(t)) for g, t in labels], draws, tot


def group_att(
    tau: np.ndarray, *, cohort: np.ndarray, event: np.ndarray, n: np.ndarray
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """theta(g) per cohort and the overall n_g-weighted average: (cohorts, (S, G), (S,))."""
    labels, gt, tot = gt_att(tau, cohort=cohort, event=event, n=n)
    g = np.array([lab[0] for lab in labels])
    post = np.array([lab[1] >= lab[0] for lab in labels])
    cohorts = sorted(set(g[post].tolist()))
    theta = np.column_stack([gt[:, (g == c) & post].mean(axis=1) for c in cohorts])
    n_g = np.array([tot[(g == c) & post].max() for c in cohorts])
    return cohorts, theta, theta @ n_g / n_g.sum()


def dynamic_att(
    tau: np.ndarray, *, cohort: np.ndarray, event: np.ndarray, n: np.ndarray
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """theta(e) for every event time present (leads included) and the mean over e >= 0."""
    labels, gt, tot = gt_att(tau, cohort=cohort, event=event, n=n)
    e = np.array([t - g for g, t in labels])
    events = sorted(set(e.tolist()))
    theta = np.column_stack([gt[:, e == v] @ tot[e == v] / tot[e == v].sum() for v in events])
    post = np.array(events) >= 0
    return events, theta, theta[:, post].mean(axis=1)


def calendar_att(
    tau: np.ndarray, *, cohort: np.ndarray, event: np.ndarray, n: np.ndarray
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """theta(t) over post-treatment cells and the mean over t."""
    labels, gt, tot = gt_att(tau, cohort=cohort, event=event, n=n)
    g = np.array([lab[0] for lab in labels])
    t = np.array([lab[1] for lab in labels])
    post = t >= g
    times = sorted(set(t[post].tolist()))
    theta = np.column_stack(
        [gt[:, post & (t == v)] @ tot[post & (t == v)] / tot[post & (t == v)].sum() for v in times]
    )
    return times, theta, theta.mean(axis=1)


def tier_att(
    tau: np.ndarray, *, tier: np.ndarray, event: np.ndarray, n: np.ndarray, tiers: Sequence[str]
) -> np.ndarray:
    """(S, K) simple ATT within each tier (NaN for a tier with no treated cell)."""
    tau = _as2d(tau)
    tier = np.asarray(tier).astype(str)
    post = np.asarray(event) >= 0
    n = np.asarray(n, float)
    out = np.full((tau.shape[0], len(tiers)), np.nan)
    for j, k in enumerate(tiers):
        sel = post & (tier == str(k))
        if sel.any():
            out[:, j] = tau[:, sel] @ n[sel] / n[sel].sum()
    return out


def tier_contrasts(
    tier_draws: np.ndarray, tiers: Sequence[str], *, rope: float
) -> tuple[list[str], np.ndarray, pd.DataFrame]:
    """All pairwise differences k - k' (tier order): names, (S, P) draws, and a summary table."""
    names, cols, rows = [], [], []
    for i in range(len(tiers)):
        for j in range(i + 1, len(tiers)):
            d = tier_draws[:, i] - tier_draws[:, j]
            if not np.isfinite(d).all():
                continue
            name = f"{tiers[i]}-{tiers[j]}"
            names.append(name)
            cols.append(d)
            rows.append(
                {
                    "contrast": name,
                    "mean": float(d.mean()),
                    "sd": float(d.std(ddof=1)) if d.size > 1 else np.nan,
                    "p_gt_0": float((d > 0).mean()),
                    "p_in_rope": float((np.abs(d) < rope).mean()),
                    "rope": rope,
                }
            )
    draws = np.column_stack(cols) if cols else np.zeros((tier_draws.shape[0], 0))
    return names, draws, pd.DataFrame(rows)


def twfe_functional(tau: np.ndarray, cell_weight: np.ndarray) -> np.ndarray:
    """sum_c W_c tau_c, with W_c the summed dCDH weights of the observations of cell c."""
    return _as2d(tau) @ np.asarray(cell_weight, float)


def dcdh_obs_weights(
    unit: np.ndarray, time: np.ndarray, treated: np.ndarray, controls: np.ndarray | None = None
) -> np.ndarray:
    """de Chaisemartin-D'Haultfoeuille weights: w_it = e_it / sum_{D=1} e_it on treated rows.

    e is the residual of D on unit and time fixed effects (and the controls, if given), so
    sum_{D=1} w_it tau_it is what the TWFE coefficient estimates. Zero on untreated rows.
    The fixed effects stay sparse (:class:`~bayesres.did._design.FEGram`): a dense dummy matrix
    of a 3,000 x 20 panel took 5 GB and ~40 s of least squares.
    """
    from bayesres.did._design import FEGram

    d = np.asarray(treated, float)
    u = pd.factorize(np.asarray(unit))[0]
    t = pd.factorize(np.asarray(time))[0]
    x = None
    if controls is not None and np.size(controls):
        x = np.asarray(controls, float).reshape(len(d), -1)
    resid = FEGram(u, t, x).resid(d)
    w = np.where(d > 0, resid, 0.0)
    return w / w.sum()


def simultaneous_band(draws: np.ndarray, *, prob: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Max-|t| envelope over columns: mean -/+ c sd with c the ``prob`` quantile of max |z|."""
    x = _as2d(draws)
    m, s = x.mean(axis=0), x.std(axis=0, ddof=1)
    s = np.where(s > 0, s, np.inf)
    crit = float(np.quantile(np.max(np.abs(x - m) / s, axis=1), prob))
    s = np.where(np.isfinite(s), s, 0.0)
    return m - crit * s, m + crit * s, crit


def aggregate_draws(
    tau: np.ndarray,
    cells: pd.DataFrame,
    *,
    tiers: Sequence[str] | None = None,
    cell_twfe_weight: np.ndarray | None = None,
    rope: float = 0.0,
    prefix: str = "ATT",
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Every contract quantity from (..., C) draws: ({name: draws}, tier-contrast table).

    ``cells`` has columns cohort, event, n and (optionally) tier, in the order of the last axis
    of ``tau``; leading axes (e.g. chain, draw) are kept on every output. ``prefix`` names the
    quantities (``ATT`` gives ATT, ATT_group[g], the overall ATT_group, ...; overall names
    without brackets as in bayesres.did.freq.callaway_santanna).
    """
    tau = np.asarray(tau, float)
    lead_shape = tau.shape[:-1]
    flat = tau.reshape(-1, tau.shape[-1])
    coh = cells["cohort"].to_numpy(int)
    ev = cells["event"].to_numpy(int)
    n = cells["n"].to_numpy(float)

    def keep(x: np.ndarray) -> np.ndarray:
        return x.reshape(lead_shape)

    out: dict[str, np.ndarray] = {prefix: keep(simple_att(flat, event=ev, n=n))}
    gs, th_g, g_all = group_att(flat, cohort=coh, event=ev, n=n)
    for j, g in enumerate(gs):
        out[f"{prefix}_group[{g}]"] = keep(th_g[:, j])
    out[f"{prefix}_group"] = keep(g_all)
    es, th_e, e_all = dynamic_att(flat, cohort=coh, event=ev, n=n)
    for j, e in enumerate(es):
        out[f"{prefix}_dynamic[{e}]"] = keep(th_e[:, j])
    out[f"{prefix}_dynamic"] = keep(e_all)
    ts, th_t, t_all = calendar_att(flat, cohort=coh, event=ev, n=n)
    for j, t in enumerate(ts):
        out[f"{prefix}_calendar[{t}]"] = keep(th_t[:, j])
    out[f"{prefix}_calendar"] = keep(t_all)
    gt_labels, gt, _ = gt_att(flat, cohort=coh, event=ev, n=n)
    for j, (g, t) in enumerate(gt_labels):
        out[f"{prefix}_gt[{g},{t}]"] = keep(gt[:, j])
    contrasts = pd.DataFrame()
    if tiers is not None and len(tiers) > 1 and "tier" in cells:
        kd = tier_att(flat, tier=cells["tier"].to_numpy(), event=ev, n=n, tiers=tiers)
        for j, k in enumerate(tiers):
            if np.isfinite(kd[:, j]).all():
                out[f"{prefix}_tier[{k}]"] = keep(kd[:, j])
        names, dd, contrasts = tier_contrasts(kd, tiers, rope=rope)
        for j, name in enumerate(names):
            out[f"{prefix}_tier_diff[{name}]"] = keep(dd[:, j])
    if cell_twfe_weight is not None:
        post = ev >= 0
        w = np.where(post, np.asarray(cell_twfe_weight, float), 0.0)
        out["TWFE" if prefix == "ATT" else f"TWFE_{prefix}"] = keep(twfe_functional(flat, w))
    return out, contrasts
