"""Paper 003's robustness set (Tables 4-7) as TWFE re-fits on the same validated panel.

* PSM-DID (Table 5 cols 1-3). Propensity: statsmodels Logit of "ever treated" on each unit's mean
  of the controls over the pre-policy periods (before the earliest cohort), so the score is
  unit-level and untouched by treatment. Common support as psmatch2's ``common``: treated units
  outside [min, max] of the controls' scores are dropped. Matching (with replacement):
  ``nearest`` k = 3 nearest controls per treated unit; ``radius`` every control within
  ``caliper`` (default 0.05 on the score scale) of a treated unit; ``kernel`` Epanechnikov weights
  with bandwidth 0.06 (psmatch2's default). As in the common Stata recipe
  (``reghdfe ... if _weight != .``), TWFE is re-run unweighted on every panel row of the treated
  units on support and the controls that received a positive weight; ``weighted=True`` uses the
  matching weights instead (each treated unit 1, each control the sum of its matching weights).
  The paper matched unit-years (N 677/2472/2409); we match units, so N is a multiple of T.
* Another policy (Table 5 col 4): the policy dummy (``broadband_did``) as an extra control.
* Lagged treatment (Table 5 col 5): L.DID = D_{i,t-1}; the first period is lost (N = 2232 on
  248 x 10).
* Winsorising (Table 5 col 6): outcome and controls clipped at their pooled p and 1 - p quantiles
  (p = 1 % and 5 %, two-sided, like Stata ``winsor2``).
* Mechanism outcomes (Table 6): the same TWFE on dig / inn / lab (effects on mechanism variables
  only; no indirect-effect claim).
* Splits (Table 7): split-sample TWFE by size, central and resource-based status.
* In-time placebo (not in 003; table 0 in ``robustness_set``): untreated observations only, each
  cohort's adoption moved ``shift`` periods earlier; the TWFE coefficient should be ~0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayesres.did._design import resolve_controls
from bayesres.did.freq import split_twfe, twfe
from bayesres.errors import SpecError
from bayesres.validate import Panel

__all__ = [
    "in_time_placebo",
    "lagged_treatment",
    "other_policy",
    "propensity_scores",
    "psm_did",
    "psm_weights",
    "robustness_set",
    "winsorize",
]

EPANECHNIKOV_BW = 0.06  # psmatch2's default kernel bandwidth
RADIUS_CALIPER = 0.05


# --------------------------------------------------------------------------- PSM-DID


def propensity_scores(panel: Panel, *, controls: Sequence[str] | None = None) -> pd.DataFrame:
    """Unit-level logit propensity of ever being treated on pre-policy means of the controls.

    Returns one row per unit: unit, treated (0/1), the covariate means and ``pscore``.
    """
    import statsmodels.api as sm

    ctrl = resolve_controls(panel, controls)
    if not ctrl:
        raise SpecError(
            "PSM-DID needs covariates",
            file=panel.source,
            hint="Pass controls= (003 matched on its five control variables).",
        )
    f = panel.frame
    pre = f[f[panel.time] < min(panel.cohorts)]
    units = pre.groupby(panel.unit, sort=True)[list(ctrl)].mean()
    cohort = f.drop_duplicates(panel.unit).set_index(panel.unit)[panel.cohort]
    treated = (cohort.reindex(units.index) > 0).astype(int)
    x = sm.add_constant(units.to_numpy(dtype=float), has_constant="add")
    fit = sm.Logit(treated.to_numpy(), x).fit(disp=0, maxiter=200)
    out = units.reset_index().rename(columns={panel.unit: "unit"})
    out.insert(1, "treated", treated.to_numpy())
    out["pscore"] = fit.predict(x)
    return out


def psm_weights(
    ps: np.ndarray,
    treated: np.ndarray,
    *,
    method: str = "nearest",
    k: int = 3,
    caliper: float = RADIUS_CALIPER,
    bandwidth: float = EPANECHNIKOV_BW,
) -> np.ndarray:
    """Matching weights per unit from propensity scores (numpy kernel; with replacement).

    Treated units on common support get 1 (0 off support); each control the sum over treated
    units of its share of that unit's match (1/k, 1/n_within_radius, or normalised kernel
    weight). Units with weight 0 are not in the matched sample.
    """
    ps, treated = np.asarray(ps, float), np.asarray(treated).astype(bool)
    pt, pc = ps[treated], ps[~treated]
    on = (pt >= pc.min()) & (pt <= pc.max())
    dist = np.abs(pt[:, None] - pc[None, :])  # (n_treated, n_control)
    if method == "nearest":
        kk = min(k, pc.size)
        idx = np.argsort(dist, axis=1, kind="stable")[:, :kk]
        m = np.zeros_like(dist)
        np.put_along_axis(m, idx, 1.0 / kk, axis=1)
    elif method == "radius":
        m = (dist <= caliper).astype(float)
        on &= m.sum(axis=1) > 0
    elif method == "kernel":
        u = dist / bandwidth
        m = np.where(u < 1, 0.75 * (1 - u**2), 0.0)
        on &= m.sum(axis=1) > 0
    else:
        raise SpecError(f"method must be nearest, radius or kernel, not {method!r}")
    rs = m.sum(axis=1, keepdims=True)
    m = np.divide(m, rs, out=np.zeros_like(m), where=rs > 0) * on[:, None]
    w = np.zeros(ps.size)
    w[treated] = on.astype(float)
    w[~treated] = m.sum(axis=0)
    return w


def psm_did(
    panel: Panel,
    *,
    method: str = "nearest",
    controls: Sequence[str] | None = None,
    k: int = 3,
    caliper: float = RADIUS_CALIPER,
    bandwidth: float = EPANECHNIKOV_BW,
    weighted: bool = False,
) -> pd.DataFrame:
    """PSM-DID (003 Table 5 cols 1-3): TWFE with controls on the matched sample (see module doc)."""
    ctrl = resolve_controls(panel, controls)
    ps = propensity_scores(panel, controls=ctrl)
    w = psm_weights(
        ps["pscore"].to_numpy(),
        ps["treated"].to_numpy(),
        method=method,
        k=k,
        caliper=caliper,
        bandwidth=bandwidth,
    )
    weight_of = dict(zip(ps["unit"], w, strict=True))
    f = panel.frame.copy()
    f["psm_weight_"] = f[panel.unit].map(weight_of).to_numpy(dtype=float)
    f = f[f["psm_weight_"] > 0].reset_index(drop=True)
    sub = dataclasses.replace(panel, frame=f)
    out = twfe(sub, controls=ctrl, weights="psm_weight_" if weighted else None)
    out["method"] = f"PSM-DID {method} + " + out["method"]
    out["n_units"] = int(f[panel.unit].nunique())
    return out


# --------------------------------------------------------------------------- other specifications


def other_policy(
    panel: Panel, *, policy: str = "broadband_did", controls: Sequence[str] | None = None
) -> pd.DataFrame:
    """TWFE with another policy's 0/1 dummy added to the controls (003 Table 5 col 4)."""
    ctrl = resolve_controls(panel, controls)
    if policy not in panel.frame.columns:
        raise SpecError(f"policy column {policy!r} not in the panel", file=panel.source)
    return twfe(panel, controls=[*ctrl, policy])


def lagged_treatment(
    panel: Panel, *, lag: int = 1, controls: Sequence[str] | None = None
) -> pd.DataFrame:
    """TWFE on the treatment lagged ``lag`` periods (L.DID); the first ``lag`` periods drop out.

    Quantity ``TWFE_lag[<lag>]`` (plus ``coef[<control>]``).
    """
    ctrl = resolve_controls(panel, controls)
    f = panel.frame.sort_values([panel.unit, panel.time]).copy()
    f["d_now_"] = panel.treated[f.index.to_numpy()]
    f["l_did_"] = f.groupby(panel.unit, sort=False)["d_now_"].shift(lag)
    f = f[f["l_did_"].notna()].reset_index(drop=True)
    sub = dataclasses.replace(panel, frame=f, periods=tuple(panel.periods[lag:]))
    out = twfe(sub, controls=ctrl, treat="l_did_")
    out.loc[out["quantity"] == "TWFE", ["quantity", "group"]] = [f"TWFE_lag[{lag}]", str(lag)]
    out.loc[out["quantity"] == f"TWFE_lag[{lag}]", "term"] = "TWFE_lag"
    return out


def in_time_placebo(
    panel: Panel, *, shift: int = 2, controls: Sequence[str] | None = None
) -> pd.DataFrame:
    """In-time placebo: TWFE on the untreated observations only, with every cohort's adoption
    moved ``shift`` periods earlier (a fake policy date inside the true pre-period).

    Observations at or after the true adoption are dropped, so no real effect can enter; units
    whose fake date falls on or before the first period (treated throughout the kept sample) are
    dropped. Under parallel trends and no anticipation the coefficient is ~0. Quantity
    ``TWFE_placebo_time[<shift>]`` (plus ``coef[<control>]``).
    """
    if shift < 1:
        raise SpecError("shift must be >= 1 period")
    ctrl = resolve_controls(panel, controls)
    f = panel.frame.copy()
    g = f[panel.cohort].to_numpy(np.int64)
    t = f[panel.time].to_numpy(np.int64)
    periods = np.asarray(panel.periods, dtype=np.int64)
    # the fake date, `shift` periods before the true one on the panel's own period grid
    pos = np.searchsorted(periods, np.where(g > 0, g, periods[0]))
    fake = np.where(g > 0, periods[np.clip(pos - shift, 0, len(periods) - 1)], 0)
    keep = (g == 0) | ((t < g) & (pos - shift > 0))
    f = f.assign(placebo_did_=((g > 0) & (t >= fake)).astype(float))[keep].reset_index(drop=True)
    if not f["placebo_did_"].any():
        raise SpecError(
            f"no pre-period is long enough for an in-time placebo {shift} periods early",
            hint="Use a smaller shift.",
        )
    sub = dataclasses.replace(panel, frame=f)
    out = twfe(sub, controls=ctrl, treat="placebo_did_")
    name = f"TWFE_placebo_time[{shift}]"
    out.loc[out["quantity"] == "TWFE", ["quantity", "group"]] = [name, str(shift)]
    out.loc[out["quantity"] == name, "term"] = "TWFE_placebo_time"
    return out


def winsorize(panel: Panel, *, limits: float = 0.01, columns: Sequence[str] | None = None) -> Panel:
    """A copy of ``panel`` with ``columns`` (default outcome + controls) clipped at the pooled
    ``limits`` and ``1 - limits`` quantiles (two-sided winsorising)."""
    if not 0 <= limits < 0.5:
        raise SpecError("limits must lie in [0, 0.5)")
    cols = list(columns) if columns is not None else [panel.outcome, *panel.controls]
    f = panel.frame.copy()
    for c in cols:
        lo, hi = f[c].quantile([limits, 1 - limits]).to_numpy()
        f[c] = f[c].clip(lo, hi)
    return dataclasses.replace(panel, frame=f)


# --------------------------------------------------------------------------- the whole set

SPLITS = (
    ("size_class", (("large", 1), ("small", 2))),
    ("central", ((1, 3), (0, 4))),
    ("resource", ((1, 5), (0, 6))),
)


def _pick(tab: pd.DataFrame, quantity: str, **info) -> dict:
    r = tab.loc[tab["quantity"] == quantity].iloc[0]
    return {
        **info,
        "estimate": r["estimate"],
        "std_error": r["std_error"],
        "t": r["t"],
        "p_value": r["p_value"],
        "n": int(r["n"]),
        "adj_r2": r["adj_r2"],
    }


def robustness_set(
    panel: Panel,
    *,
    controls: Sequence[str] | None = None,
    published: pd.DataFrame | None = None,
    policy: str | None = "broadband_did",
    mediators: Sequence[str] = ("dig", "inn", "lab"),
    splits: Sequence[tuple[str, Sequence[tuple[object, int]]]] = SPLITS,
    winsor: Sequence[float] = (0.01, 0.05),
    in_time: Sequence[int] = (2,),
) -> pd.DataFrame:
    """One row per 003 Table 4-7 specification (TWFE coefficient of the treatment).

    Columns: table, column, spec, outcome, term, estimate, std_error, t, p_value, n, adj_r2 and,
    with ``published`` (data/published/seed003_regressions.csv), published_coef / published_t /
    published_n matched on (table, column, term). Steps whose columns are absent are skipped (PSM
    without controls; the in-time placebo when no pre-period is long enough).
    """
    ctrl = list(resolve_controls(panel, controls))
    cols = panel.frame.columns
    y = panel.outcome
    rows: list[dict] = []
    for j in range(len(ctrl) + 1):
        tab = twfe(panel, controls=ctrl[:j])
        spec = "TWFE " + ("no controls" if j == 0 else "+ " + " ".join(ctrl[:j]))
        rows.append(_pick(tab, "TWFE", table=4, column=j + 1, spec=spec, outcome=y, term="DID"))
    for c, method in enumerate(("nearest", "radius", "kernel") if ctrl else (), start=1):
        tab = psm_did(panel, method=method, controls=ctrl)  # matching needs covariates
        rows.append(
            _pick(tab, "TWFE", table=5, column=c, spec=f"PSM-DID {method}", outcome=y, term="DID")
        )
    if policy and policy in cols:
        tab = other_policy(panel, policy=policy, controls=ctrl)
        info = {"table": 5, "column": 4, "spec": f"Controlling for {policy}", "outcome": y}
        rows.append(_pick(tab, "TWFE", **info, term="DID"))
        rows.append(_pick(tab, f"coef[{policy}]", **info, term=f"DID1 ({policy})"))
    tab = lagged_treatment(panel, controls=ctrl)
    rows.append(
        _pick(
            tab, "TWFE_lag[1]", table=5, column=5, spec="Lagged treatment", outcome=y, term="L.DID"
        )
    )
    for shift in in_time:
        try:
            tab = in_time_placebo(panel, shift=shift, controls=ctrl)
        except SpecError:
            continue
        rows.append(
            _pick(
                tab,
                f"TWFE_placebo_time[{shift}]",
                table=0,
                column=shift,
                spec=f"In-time placebo: adoption {shift} periods early (not in the paper)",
                outcome=y,
                term="placebo DID",
            )
        )
    for p in winsor:
        tab = twfe(winsorize(panel, limits=p), controls=ctrl)
        rows.append(
            _pick(tab, "TWFE", table=5, column=6, spec=f"Winsorised {p:.0%}", outcome=y, term="DID")
        )
    for c, m in enumerate(mediators, start=1):
        if m in cols:
            tab = twfe(panel, controls=ctrl, outcome=m)
            rows.append(
                _pick(
                    tab,
                    "TWFE",
                    table=6,
                    column=c,
                    spec=f"Mechanism outcome {m}",
                    outcome=m,
                    term="DID",
                )
            )
    for by, levels in splits:
        if by not in cols:
            continue
        tab = split_twfe(panel, by=by, controls=ctrl)
        for lev, c in levels:
            q = f"TWFE[{lev}]"
            if (tab["quantity"] == q).any():
                rows.append(
                    _pick(tab, q, table=7, column=c, spec=f"{by} = {lev}", outcome=y, term="DID")
                )
    out = pd.DataFrame(rows)
    if published is not None:
        pub = published.copy()
        pub["term"] = pub["term"].str.replace(r"DID1 \(.*\)", "DID1", regex=True)
        key = out["term"].str.replace(r"DID1 \(.*\)", "DID1", regex=True)
        pub = pub.set_index(["table", "column", "term"])[["coef", "t", "n"]]
        idx = pd.MultiIndex.from_arrays([out["table"], out["column"], key])
        out["published_coef"] = pub["coef"].reindex(idx).to_numpy()
        out["published_t"] = pub["t"].reindex(idx).to_numpy()
        out["published_n"] = pub["n"].reindex(idx).to_numpy()
    return out
