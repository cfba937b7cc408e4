"""Frequentist twins of the staggered-DID quantities (methods.md §3.1-3.2, §3.8).

Every estimator takes a validated :class:`~bayesres.validate.Panel` and returns tidy tables
(:mod:`bayesres.summary`) whose ``quantity`` names follow CONTRACT.md:

* ``twfe`` / ``split_twfe`` / ``interaction_twfe`` / ``event_study`` / ``sun_abraham``: pyfixest,
  unit and time fixed effects, unit-clustered CRV1 standard errors (fixest small-sample defaults).
* ``callaway_santanna``: moderndid (R ``did`` 2.5 parity), analytic standard errors.
* ``bjs_imputation``: Borusyak-Jaravel-Spiess imputation in numpy. pyfixest's ``did2s`` (Gardner's
  two-stage, the same point estimates) drops singleton fixed effects in its first stage and then
  fails on panels such as mpdta, where the earliest cohort has one untreated period; hence our own.
  Standard errors: BJS (2024) Theorem 3 conservative variance, clustered by unit, with the treated
  residuals taken around the (cohort, period) cell means of the imputed effects.
* ``dcdh_weights``: de Chaisemartin-D'Haultfœuille weights of the TWFE coefficient.

CS with covariates (docs/did_cs_covariates.md): on mpdta with ``~lpop`` (DR, never treated) the
simple ATT is -0.0417518 (SE 0.0115028), as R did and Stata csdid print. On ecommerce_panel the
five controls (scale-driven ``agg`` above all) separate cohorts 2015-2019 from the never-treated
cities (propensity score >= 0.999 at g-1), so moderndid skipped 32 of 45 cells and its "ATT"
0.0026 (SE 0.0024) was cohort 2020's alone (that cohort's true ATT 0.0029; overall truth 0.0168).
Not a covariate-timing bug (controls enter at the base period, as in R) but a silent drop:
``callaway_santanna`` now raises as R's ``aggte`` does unless ``na_rm=True``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayesres.config import HDI_PROB
from bayesres.did._design import (
    COHORT,
    TIME,
    UNIT,
    D,
    FEGram,
    Y,
    design,
    fit_frame,
    resolve_controls,
)
from bayesres.errors import DataError, SpecError
from bayesres.summary import frequentist_row, tidy_frame
from bayesres.validate import Panel

__all__ = [
    "BJSResult",
    "CSResult",
    "bjs_imputation",
    "callaway_santanna",
    "dcdh_weights",
    "event_study",
    "interaction_twfe",
    "split_twfe",
    "sun_abraham",
    "twfe",
]


# --------------------------------------------------------------------------- pyfixest helpers


def _feols(fml: str, data: pd.DataFrame, *, vcov: str = "CRV1", weights: str | None = None):
    import pyfixest as pf

    v = {vcov: UNIT} if vcov.upper().startswith("CRV") else vcov
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="pyfixest")
        return pf.feols(fml, data=data, vcov=v, weights=weights)


def _rows_from_fit(
    fit,
    names: dict[str, str],
    *,
    method: str,
    level: float,
    extra: dict | None = None,
) -> list[dict]:
    """Tidy rows for the coefficients in ``names`` (pyfixest name → quantity name)."""
    tid = fit.tidy(alpha=1 - level)
    rows = []
    for coef, quantity in names.items():
        if coef not in tid.index:
            continue
        r = tid.loc[coef]
        row = frequentist_row(
            quantity,
            estimate=float(r["Estimate"]),
            std_error=float(r["Std. Error"]),
            method=method,
            lower=float(r.iloc[4]),
            upper=float(r.iloc[5]),
            p_value=float(r["Pr(>|t|)"]),
            level=level,
        )
        row["t"] = float(r["t value"])
        row["n"] = int(fit._N)
        row["adj_r2"] = float(fit._adj_r2)
        row.update(extra or {})
        rows.append(row)
    return rows


def _lincomb_row(
    quantity: str, w: np.ndarray, beta: np.ndarray, vcov: np.ndarray, *, method: str, level: float
) -> dict:
    est = float(w @ beta)
    se = float(np.sqrt(max(w @ vcov @ w, 0.0)))
    return frequentist_row(quantity, estimate=est, std_error=se, method=method, level=level)


def _fe_formula(y: str, rhs: Sequence[str]) -> str:
    return f"{y} ~ {' + '.join(rhs)} | {UNIT} + {TIME}"


# --------------------------------------------------------------------------- TWFE


def twfe(
    panel: Panel,
    *,
    controls: Sequence[str] | None = None,
    treat: str | None = None,
    outcome: str | None = None,
    vcov: str = "CRV1",
    weights: str | None = None,
    level: float = HDI_PROB,
) -> pd.DataFrame:
    """TWFE ``y ~ D + X | unit + time`` with unit-clustered SE (003 Table 4).

    ``controls=None`` uses the panel's controls; ``treat`` names a 0/1 column to use instead of
    the cohort-implied treatment; ``weights`` a column of observation weights (PSM-DID).
    Quantities ``TWFE`` and ``coef[<control>]``; extra columns ``t``, ``n``, ``adj_r2``.
    """
    ctrl = resolve_controls(panel, controls)
    extra = [weights] if weights else []
    data = fit_frame(panel, controls=ctrl, treat=treat, outcome=outcome, extra=extra)
    fit = _feols(_fe_formula(Y, [D, *ctrl]), data, vcov=vcov, weights=weights)
    names = {D: "TWFE", **{c: f"coef[{c}]" for c in ctrl}}
    return tidy_frame(_rows_from_fit(fit, names, method=f"TWFE-{vcov}", level=level))


def split_twfe(
    panel: Panel,
    *,
    by: str,
    controls: Sequence[str] | None = None,
    level: float = HDI_PROB,
) -> pd.DataFrame:
    """TWFE fitted separately within each level of the unit attribute ``by`` (003 Table 7).

    Quantities ``TWFE[<level>]``; column ``n`` holds each subsample's observations.
    """
    ctrl = resolve_controls(panel, controls)
    data = fit_frame(panel, controls=ctrl, extra=[by])
    rows = []
    for lev in sorted(data[by].unique(), key=str):
        sub = data[data[by] == lev]
        if sub[D].nunique() < 2:
            continue
        fit = _feols(_fe_formula(Y, [D, *ctrl]), sub)
        rows += _rows_from_fit(
            fit, {D: f"TWFE[{lev}]"}, method="TWFE-CRV1 split sample", level=level
        )
    return tidy_frame(rows)


def interaction_twfe(
    panel: Panel,
    *,
    by: str,
    controls: Sequence[str] | None = None,
    level: float = HDI_PROB,
) -> pd.DataFrame:
    """One TWFE with a treatment dummy per level of ``by`` (common unit and time FE).

    Quantities ``TWFE[<level>]`` and ``TWFE_diff[<level>-<first level>]`` (delta method from the
    clustered covariance).
    """
    ctrl = resolve_controls(panel, controls)
    data = fit_frame(panel, controls=ctrl, extra=[by])
    levels = sorted(data[by].unique(), key=str)
    cols = []
    for j, lev in enumerate(levels):
        name = f"d_lev{j}"
        data[name] = data[D] * (data[by] == lev).to_numpy()
        cols.append(name)
    fit = _feols(_fe_formula(Y, [*cols, *ctrl]), data)
    method = "TWFE-CRV1 interaction"
    rows = _rows_from_fit(
        fit,
        {c: f"TWFE[{lev}]" for c, lev in zip(cols, levels, strict=True)},
        method=method,
        level=level,
    )
    names = list(fit._coefnames)
    beta, vc = np.asarray(fit._beta_hat), np.asarray(fit._vcov)
    ref = cols[0]
    for c, lev in zip(cols[1:], levels[1:], strict=True):
        if c in names and ref in names:
            w = np.zeros(len(names))
            w[names.index(c)], w[names.index(ref)] = 1.0, -1.0
            rows.append(
                _lincomb_row(
                    f"TWFE_diff[{lev}-{levels[0]}]", w, beta, vc, method=method, level=level
                )
            )
    return tidy_frame(rows)


# --------------------------------------------------------------------------- event study


def event_study(
    panel: Panel,
    *,
    leads: int = 4,
    lags: int = 4,
    controls: Sequence[str] | None = None,
    level: float = HDI_PROB,
) -> pd.DataFrame:
    """Binned TWFE event study (003 Figure 1): dummies for e = -leads..lags except -1.

    The end points bin everything beyond them (e <= -leads, e >= lags); never-treated units
    have all dummies 0. Quantities ``ES[<e>]``; column ``binned`` marks the end bins.
    """
    if leads < 2 or lags < 0:
        raise SpecError("event_study needs leads >= 2 and lags >= 0")
    ctrl = resolve_controls(panel, controls)
    data = fit_frame(panel, controls=ctrl)
    g, t = data[COHORT].to_numpy(), data[TIME].to_numpy()
    e = np.where(g > 0, np.clip(t - g, -leads, lags), -1)
    names, binned = {}, {}
    for k in range(-leads, lags + 1):
        if k == -1:
            continue
        col = f"es_{'m' if k < 0 else 'p'}{abs(k)}"
        data[col] = ((g > 0) & (e == k)).astype(float)
        if data[col].any():
            names[col] = f"ES[{k}]"
            binned[f"ES[{k}]"] = k in (-leads, lags)
    fit = _feols(_fe_formula(Y, [*names, *ctrl]), data)
    out = tidy_frame(_rows_from_fit(fit, names, method="event study TWFE-CRV1", level=level))
    out["event_time"] = [int(q[3:-1]) for q in out["quantity"]]
    out["binned"] = out["quantity"].map(binned)
    return out


# --------------------------------------------------------------------------- Callaway-Sant'Anna


@dataclass(frozen=True)
class CSResult:
    """Callaway-Sant'Anna ATT(g,t) cells and aggregations (tidy tables), plus moderndid objects.

    ``failed``: the (cohort, period, reason) cells moderndid could not estimate (empty unless
    ``na_rm=True`` let the aggregation go on without them).
    """

    att_gt: pd.DataFrame
    aggregates: pd.DataFrame
    raw: object = None
    failed: tuple[tuple[int, int, str], ...] = ()

    @property
    def table(self) -> pd.DataFrame:
        return pd.concat([self.att_gt, self.aggregates], ignore_index=True)


# moderndid (as R did's compute.att_gt) warns and skips a cell whose propensity score reaches
# 0.999 or whose comparison-unit regression is singular; the messages name the cell
_CELL_FAILURE = re.compile(r"for (?:group )?(-?[0-9.]+) in time period (-?[0-9.]+)")


def _failed_cells(caught: Sequence[warnings.WarningMessage]) -> tuple[tuple[int, int, str], ...]:
    out = {}
    for w in caught:
        text = str(w.message)
        m = _CELL_FAILURE.search(text)
        if m is None:
            continue
        low = text.lower()
        if "overlap" in low:
            why = "overlap condition violated: propensity score >= 0.999"
        elif "control units" in low or "singular" in low:
            why = "singular comparison-unit regression"
        else:
            why = "2x2 estimation failed"
        out[(int(float(m.group(1))), int(float(m.group(2))))] = why
    return tuple((g, t, why) for (g, t), why in sorted(out.items()))


def _failure_message(failed, n_cells: int, ctrl: Sequence[str], est_method: str) -> str:
    by_cohort: dict[int, list[int]] = {}
    for g, t, _ in failed:
        by_cohort.setdefault(g, []).append(t)
    reasons = sorted({why for *_, why in failed})
    cohorts = ", ".join(f"{g} ({len(ts)} cells)" for g, ts in sorted(by_cohort.items()))
    with_x = f" with controls {', '.join(ctrl)}" if ctrl else ""
    return (
        f"Callaway-Sant'Anna ({est_method}){with_x} could not estimate {len(failed)} of "
        f"{n_cells} ATT(g,t) cells ({'; '.join(reasons)}): cohorts {cohorts}"
    )


def callaway_santanna(
    panel: Panel,
    *,
    control_group: str = "never",
    controls: Sequence[str] = (),
    est_method: str = "dr",
    level: float = HDI_PROB,
    na_rm: bool = False,
) -> CSResult:
    """Callaway & Sant'Anna (2021) via moderndid (varying base period, analytic SEs).

    ``control_group`` "never" or "notyet". Quantities: ``ATT_gt[<g>,<t>]``; ``ATT`` (simple),
    ``ATT_group[<g>]`` and overall ``ATT_group``, ``ATT_dynamic[<e>]`` (leads negative) and overall
    ``ATT_dynamic`` (mean over e >= 0), ``ATT_calendar[<t>]`` and overall ``ATT_calendar``.

    Time-varying controls enter at each 2x2's earlier period (for post cells, g-1), as in R did
    with a balanced panel. A cell whose propensity score reaches 0.999 or whose comparison-unit
    regression is singular cannot be estimated; R did keeps it as NA and ``aggte`` then stops
    unless ``na.rm = TRUE``, while moderndid drops it and aggregates the rest. We follow R: a
    :class:`~bayesres.errors.DataError` names the failed cells, unless ``na_rm=True``, which
    aggregates the estimated cells only (another estimand; the cells are in ``.failed`` and the
    method says how many).
    """
    import moderndid

    groups = {"never": "nevertreated", "notyet": "notyettreated"}
    if control_group not in groups:
        raise SpecError(f"control_group must be 'never' or 'notyet', not {control_group!r}")
    ctrl = tuple(controls)
    data = fit_frame(panel, controls=ctrl)
    xf = f"~ {' + '.join(ctrl)}" if ctrl else None
    method = f"CS-{est_method}-{control_group}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = moderndid.att_gt(
            data,
            yname=Y,
            tname=TIME,
            idname=UNIT,
            gname=COHORT,
            xformla=xf,
            est_method=est_method,
            control_group=groups[control_group],
            boot=False,
            cband=False,
            allow_unbalanced_panel=not panel.balanced,
            alpha=1 - level,
        )
    failed = _failed_cells(caught)
    if failed:
        message = _failure_message(failed, len(res.att_gt) + len(failed), ctrl, est_method)
        if not na_rm:
            overlap = any(why.startswith("overlap") for *_, why in failed)
            raise DataError(
                message,
                hint=(
                    "The controls separate these cohorts from the comparison units, so their "
                    "conditional ATT is not identified. "
                    if overlap
                    else ""
                )
                + "Drop the separating controls, use est_method='reg' (regression "
                "extrapolation), or pass na_rm=True to aggregate the estimated cells only "
                "(another estimand, as R did's aggte(na.rm = TRUE)).",
            )
        method = f"{method}, {len(failed)} cells not estimable"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aggs = {
            k: moderndid.aggte(res, type=k, boot=False, cband=False, alpha=1 - level)
            for k in ("simple", "group", "dynamic", "calendar")
        }

    def row(q: str, est: float, se: float) -> dict:
        return frequentist_row(
            q, estimate=float(est), std_error=float(se), method=method, level=level
        )

    cells = [
        row(f"ATT_gt[{int(g)},{int(t)}]", a, s)
        for g, t, a, s in zip(res.groups, res.times, res.att_gt, res.se_gt, strict=True)
    ]
    agg_rows = [row("ATT", aggs["simple"].overall_att, aggs["simple"].overall_se)]
    for kind, term in (
        ("group", "ATT_group"),
        ("dynamic", "ATT_dynamic"),
        ("calendar", "ATT_calendar"),
    ):
        a = aggs[kind]
        agg_rows.append(row(term, a.overall_att, a.overall_se))
        for k, est, se in zip(a.event_times, a.att_by_event, a.se_by_event, strict=True):
            agg_rows.append(row(f"{term}[{int(k)}]", est, se))
    return CSResult(
        att_gt=tidy_frame(cells),
        aggregates=tidy_frame(agg_rows),
        raw={"att_gt": res, **aggs},
        failed=failed,
    )


# --------------------------------------------------------------------------- Sun-Abraham


def sun_abraham(
    panel: Panel,
    *,
    controls: Sequence[str] = (),
    level: float = HDI_PROB,
) -> pd.DataFrame:
    """Sun & Abraham (2021) interaction-weighted estimator by a saturated pyfixest regression.

    ``y ~ sum_{g, t != g-1} 1{G=g, time=t} (+ X'b) | unit + time`` with the never-treated units as
    control (the last-treated cohort, on periods before it adopts, when there are none). Cells
    ``SA_gt[<g>,<t>]`` (leads are long differences to g-1); ``SA_dynamic[<e>]`` weights cohorts
    by their size among cohorts observed at e; ``SA`` weights post cells by cohort size (as CS
    simple). SEs: clustered covariance, weights treated as fixed. Column ``twin_of`` names the
    contract quantity each row estimates (``ATT``, ``ATT_dynamic[<e>]``, ``ATT_gt[<g>,<t>]``), so
    the comparison layer can set it beside the Bayesian one. ``controls`` (time-varying, linear)
    enter the regression as in TWFE.
    """
    ctrl = tuple(controls)
    data = fit_frame(panel, controls=ctrl)
    g_all = data[COHORT].to_numpy()
    cohorts = [int(c) for c in panel.cohorts]
    if not (g_all == 0).any():
        last = max(cohorts)
        data = data[data[TIME] < last].copy()
        data.loc[data[COHORT] == last, COHORT] = 0
        cohorts = cohorts[:-1]
    g, t = data[COHORT].to_numpy(), data[TIME].to_numpy()
    periods = sorted(set(t.tolist()))
    cols, cell = [], {}
    sizes = data.drop_duplicates(UNIT).groupby(COHORT).size()
    for c in cohorts:
        for p in periods:
            if p == c - 1:
                continue
            name = f"sa_{c}_{p}"
            mask = (g == c) & (t == p)
            if mask.any():
                data[name] = mask.astype(float)
                cols.append(name)
                cell[name] = (c, p)
    if not cols:
        raise SpecError(
            "Sun-Abraham needs a treated cohort and a comparison group (never treated, or a "
            "later cohort before it adopts)"
        )
    fit = _feols(_fe_formula(Y, [*cols, *ctrl]), data)
    method = "Sun-Abraham (saturated TWFE-CRV1" + (", controls)" if ctrl else ")")
    rows = _rows_from_fit(
        fit, {k: f"SA_gt[{c},{p}]" for k, (c, p) in cell.items()}, method=method, level=level
    )
    for r in rows:
        r["twin_of"] = "ATT_gt" + r["quantity"][len("SA_gt") :]
    names = list(fit._coefnames)
    beta, vc = np.asarray(fit._beta_hat), np.asarray(fit._vcov)

    def weights(select) -> np.ndarray:
        w = np.zeros(len(names))
        for k, (c, p) in cell.items():
            if k in names and select(c, p):
                w[names.index(k)] = sizes[c]
        return w / w.sum() if w.sum() else w

    def lincomb(quantity: str, twin: str, w: np.ndarray) -> dict:
        row = _lincomb_row(quantity, w, beta, vc, method=method, level=level)
        return {**row, "twin_of": twin}

    events = sorted({p - c for c, p in cell.values()})
    for e in events:
        w = weights(lambda c, p, e=e: p - c == e)
        if w.any():
            rows.append(lincomb(f"SA_dynamic[{e}]", f"ATT_dynamic[{e}]", w))
    rows.append(lincomb("SA", "ATT", weights(lambda c, p: p >= c)))
    return tidy_frame(rows)


# --------------------------------------------------------------------------- BJS imputation


@dataclass(frozen=True)
class BJSResult:
    """BJS imputation: per-cell, overall and by-event tables, and the per-observation effects."""

    cells: pd.DataFrame
    overall: pd.DataFrame
    by_event: pd.DataFrame
    tau: pd.DataFrame  # treated observations: unit, time, cohort, event_time, tau

    @property
    def table(self) -> pd.DataFrame:
        return pd.concat([self.cells, self.overall, self.by_event], ignore_index=True)


def _check_imputable(unit: np.ndarray, time: np.ndarray, treated: np.ndarray) -> None:
    """Every treated unit and period needs an untreated row to impute from."""
    seen_u = np.zeros(int(unit.max()) + 1, dtype=bool)
    seen_u[unit[~treated]] = True
    seen_t = np.zeros(int(time.max()) + 1, dtype=bool)
    seen_t[time[~treated]] = True
    if not (seen_u[unit[treated]].all() and seen_t[time[treated]].all()):
        raise SpecError(
            "imputation needs at least one untreated period per treated unit and an untreated "
            "unit in every treated period",
            hint="Drop always-treated units or periods in which every unit is treated.",
        )


def bjs_imputation(
    panel: Panel,
    *,
    controls: Sequence[str] = (),
    level: float = HDI_PROB,
) -> BJSResult:
    """Borusyak-Jaravel-Spiess (2024) imputation estimator (numpy).

    Fit alpha_i + gamma_t (+ X'beta) on untreated observations, tau_it = y_it - ŷ_it(0) on treated
    ones. ``BJS_gt[<g>,<t>]`` = mean over the cell; ``BJS`` = equal weight per treated observation;
    ``BJS_dynamic[<e>]`` = mean over treated observations at event time e.
    """
    ctrl = tuple(controls)
    dz = design(panel, controls=ctrl)
    treated = dz.d > 0.5
    _check_imputable(dz.unit, dz.time, treated)
    gram = FEGram(dz.unit, dz.time, dz.x if ctrl else None, rows=~treated)
    resid = dz.y - gram.z @ gram.coef(dz.y[~treated])
    z1 = gram.z[treated]
    tau = resid[treated]
    g = dz.cohort[treated]
    tt = dz.periods[dz.time[treated]]
    e = tt - g
    # BJS Theorem 3 variance: v_treated = w, v_untreated = -Z0 (Z0'Z0)^+ Z1' w; clustered by unit;
    # treated residuals around the (cohort, period) cell means of tau
    cell_key = pd.MultiIndex.from_arrays([g, tt])
    cell_mean = pd.Series(tau).groupby([g, tt]).transform("mean").to_numpy()
    eps_treated = tau - cell_mean
    eps_untreated = resid[~treated]
    u_tr, u_un = dz.unit[treated], dz.unit[~treated]

    def estimate(w: np.ndarray) -> tuple[float, float]:
        v_un = -(gram.zs @ (gram.gram_pinv @ (z1.T @ w)))
        score = np.bincount(u_tr, w * eps_treated, minlength=dz.n_units) + np.bincount(
            u_un, v_un * eps_untreated, minlength=dz.n_units
        )
        return float(w @ tau), float(np.sqrt(np.sum(score**2)))

    method = "BJS imputation"

    def row(q: str, mask: np.ndarray) -> dict:
        w = mask / mask.sum()
        est, se = estimate(w)
        r = frequentist_row(q, estimate=est, std_error=se, method=method, level=level)
        r["n_obs"] = int(mask.sum())
        return r

    cells = [
        row(f"BJS_gt[{int(a)},{int(b)}]", (g == a) & (tt == b))
        for a, b in sorted(set(cell_key.tolist()))
    ]
    by_event = [row(f"BJS_dynamic[{int(k)}]", e == k) for k in sorted(set(e.tolist()))]
    overall = [row("BJS", np.ones_like(tau, dtype=bool))]
    units = np.asarray(pd.factorize(panel.frame[panel.unit], sort=True)[1])
    tau_df = pd.DataFrame(
        {"unit": units[dz.unit[treated]], "time": tt, "cohort": g, "event_time": e, "tau": tau}
    )
    return BJSResult(
        cells=tidy_frame(cells),
        overall=tidy_frame(overall),
        by_event=tidy_frame(by_event),
        tau=tau_df,
    )


# --------------------------------------------------------------------------- dCDH weights


def dcdh_weights(panel: Panel, *, controls: Sequence[str] = ()) -> pd.DataFrame:
    """de Chaisemartin & D'Haultfœuille (2020) weights of the TWFE coefficient per treated cell.

    w_it = e_it / sum_{D=1} e_it with e the residual of D on unit + time FE (+ controls); the cell
    weight w_gt sums w_it over the cell (it is constant within a cell on a balanced panel) and
    sum_it w_it tau_BJS_it = beta_TWFE exactly without controls (then also sum_gt w_gt
    tau_BJS_gt). Columns cohort, time, event_time, n_obs, weight, negative, tau_bjs (cell mean),
    contribution (sum of w_it tau_it over the cell; the column sums to beta_TWFE).
    """
    ctrl = tuple(controls)
    dz = design(panel, controls=ctrl)
    eps = FEGram(dz.unit, dz.time, dz.x if ctrl else None).resid(dz.d)
    treated = dz.d > 0.5
    w = eps[treated] / eps[treated].sum()
    tau = bjs_imputation(panel, controls=ctrl).tau  # treated rows, same order
    out = (
        pd.DataFrame(
            {
                "cohort": tau["cohort"],
                "time": tau["time"],
                "weight": w,
                "tau": tau["tau"],
                "contribution": w * tau["tau"].to_numpy(),
            }
        )
        .groupby(["cohort", "time"], as_index=False)
        .agg(
            weight=("weight", "sum"),
            n_obs=("weight", "size"),
            tau_bjs=("tau", "mean"),
            contribution=("contribution", "sum"),
        )
    )
    out["event_time"] = out["time"] - out["cohort"]
    out["negative"] = out["weight"] < 0
    return out[
        ["cohort", "time", "event_time", "n_obs", "weight", "negative", "tau_bjs", "contribution"]
    ]
