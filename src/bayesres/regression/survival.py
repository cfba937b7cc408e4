"""Months to recovery as a discrete-time survival model (methods.md section 2.4 (b)).

The paper regresses months to recovery on ln(index) and ln(density) by OLS on the 37 cities that
recovered, dropping the one that never did. Here that city stays in as right-censored:

    person-period rows (city i, month m = 1 .. T_i since the start), event = 1 at recovery
    h_im = P(recover at m | not yet) = 1 - exp(-exp(alpha_m + beta x_i + gamma' c_i))   (cloglog)
    alpha_m: Gaussian random walk, alpha_1 ~ N(-3, 2), steps ~ N(0, s), s ~ HalfNormal(0.5)
    beta, gamma ~ N(0, 1) per sd of the standardised predictor / controls

cloglog gives grouped-time proportional hazards (Prentice & Gloeckler 1978): exp(beta) is the
hazard ratio per sd of x. Censored cities contribute their at-risk months with no event.

Frequentist twins: (i) the same cloglog GLM by maximum likelihood (statsmodels) with one baseline
dummy per month in which some city recovered: in months with no recovery at all the ML baseline
is -infinity and those rows add nothing to the likelihood of beta, so dropping them leaves the MLE
of beta unchanged; (ii) the paper's OLS of months on the covariates, n = 37, HC1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayesres.config import HDI_PROB, SamplerSettings
from bayesres.sampling import FitResult, fit
from bayesres.summary import frequentist_row, summarise_draws, tidy_frame

__all__ = ["SurvivalData", "person_period", "build_survival_model", "fit_survival"]


@dataclass(frozen=True)
class SurvivalData:
    """Person-period arrays; x / c standardised over the cities."""

    unit: np.ndarray  # row -> city index
    month: np.ndarray  # row -> month since start (0-based index into alpha)
    event: np.ndarray
    x: np.ndarray  # per city
    c: np.ndarray  # per city (n_city, p)
    x_scale: float
    units: tuple[str, ...]
    tiers: np.ndarray  # per city labels
    at_risk: np.ndarray  # per city
    censored: np.ndarray  # per city
    n_months: int


def person_period(
    table: pd.DataFrame,
    *,
    x: np.ndarray,
    c: np.ndarray,
    units: list[str],
    tiers: np.ndarray,
) -> SurvivalData:
    """Expand one row per city (months, censored, at_risk from ``outcome.months_to_recovery``)."""
    t = np.where(table["censored"], table["at_risk"], table["months"]).astype(int)
    rows_u, rows_m, rows_e = [], [], []
    for i, (ti, cen) in enumerate(zip(t, table["censored"].to_numpy(bool), strict=True)):
        rows_u.append(np.full(ti, i))
        rows_m.append(np.arange(ti))
        e = np.zeros(ti)
        if not cen and ti > 0:
            e[-1] = 1.0
        rows_e.append(e)
    xs = (x - x.mean()) / x.std(ddof=1)
    cs = (c - c.mean(axis=0)) / c.std(axis=0, ddof=1) if c.shape[1] else c
    return SurvivalData(
        unit=np.concatenate(rows_u),
        month=np.concatenate(rows_m),
        event=np.concatenate(rows_e),
        x=xs,
        c=cs,
        x_scale=float(x.std(ddof=1)),
        units=tuple(units),
        tiers=np.asarray(tiers),
        at_risk=t,
        censored=table["censored"].to_numpy(bool),
        n_months=int(t.max()),
    )


def build_survival_model(sd: SurvivalData) -> Any:
    import pymc as pm

    coords = {"row": np.arange(len(sd.event)), "month": np.arange(1, sd.n_months + 1)}
    if sd.c.shape[1]:
        coords["control"] = [f"c{j}" for j in range(sd.c.shape[1])]
    with pm.Model(coords=coords) as m:
        mo = pm.Data("month_idx", sd.month.astype(np.int64), dims="row")
        ev = pm.Data("event", sd.event, dims="row")
        alpha1 = pm.Normal("alpha1", -3.0, 2.0)
        step_sd = pm.HalfNormal("step_sd", 0.5)
        z = pm.Normal("z_step", 0.0, 1.0, dims="month")
        steps = pm.math.concatenate([pm.math.zeros(1), step_sd * z[1:]])
        alpha = pm.Deterministic("alpha", alpha1 + pm.math.cumsum(steps), dims="month")
        beta = pm.Normal("beta", 0.0, 1.0)
        xu = pm.Data("x_row", sd.x[sd.unit], dims="row")
        eta = alpha[mo] + beta * xu
        if sd.c.shape[1]:
            cu = pm.Data("c_row", sd.c[sd.unit], dims=("row", "control"))
            gamma = pm.Normal("gamma", 0.0, 1.0, dims="control")
            eta = eta + pm.math.dot(cu, gamma)
        p = pm.Deterministic("hazard", 1 - pm.math.exp(-pm.math.exp(eta)), dims="row")
        pm.Bernoulli("recover", p=pm.math.clip(p, 1e-12, 1 - 1e-12), observed=ev, dims="row")
    return m


def _survival_curves(idata: Any, sd: SurvivalData) -> np.ndarray:
    """S_i(m) per draw: (draws, cities, months + 1), S_i(0) = 1."""
    post = idata["posterior"]
    alpha = np.asarray(post["alpha"].values, float).reshape(-1, sd.n_months)
    beta = np.asarray(post["beta"].values, float).reshape(-1)
    eta = alpha[:, None, :] + (beta[:, None] * sd.x[None, :])[:, :, None]
    if "gamma" in post:
        g = np.asarray(post["gamma"].values, float).reshape(len(beta), -1)
        eta = eta + (g @ sd.c.T)[:, :, None]
    h = 1 - np.exp(-np.exp(eta))
    s = np.cumprod(1 - h, axis=2)
    return np.concatenate([np.ones(s.shape[:2] + (1,)), s], axis=2)


def fit_survival(
    sd: SurvivalData,
    *,
    settings: SamplerSettings,
    months_ols: pd.DataFrame | None = None,
    hdi_prob: float = HDI_PROB,
    retry: bool = True,
) -> dict[str, Any]:
    """Fit the Bayesian cloglog model and its twins; tables for the result."""
    import statsmodels.api as sm

    model = build_survival_model(sd)
    res: FitResult = fit(
        model,
        settings=settings,
        key=("survival", len(sd.event), sd.n_months, sd.c.shape[1]),
        gate_vars=["alpha1", "step_sd", "beta", *(["gamma"] if sd.c.shape[1] else [])],
        retry=retry,
    )
    post = res.idata["posterior"]
    beta = np.asarray(post["beta"].values, float)
    draws = {
        "hazard_ratio_per_sd": np.exp(beta),
        "log_hazard_ratio_per_sd": beta,
        "log_hazard_ratio_per_log_unit": beta / sd.x_scale,
    }
    curves = _survival_curves(res.idata, sd)
    rmst = curves[:, :, :-1].sum(axis=2)  # restricted mean months to recovery within the window
    cens_rows = []
    for i in np.flatnonzero(sd.censored):
        t = sd.at_risk[i]
        s_t = curves[:, i, t]
        cens_rows.append(
            {
                "unit": sd.units[i],
                "months_at_risk": int(t),
                "p_not_recovered_by_window_end": float(s_t.mean()),
                "p_not_recovered_sd": float(s_t.std(ddof=1)),
                "hazard_ratio_vs_mean_city": float(np.exp(beta.reshape(-1) * sd.x[i]).mean()),
                "restricted_mean_months": float(rmst[:, i].mean()),
            }
        )
    tier_rows = []
    for t in pd.unique(sd.tiers):
        sel = sd.tiers == t
        v = rmst[:, sel].mean(axis=1)
        tier_rows.append(
            {
                "tier": t,
                "expected_months_restricted": float(v.mean()),
                "sd": float(v.std(ddof=1)),
                "window_months": sd.n_months,
            }
        )
    bayes = summarise_draws(draws, method="Bayes discrete-time cloglog survival", hdi_prob=hdi_prob)
    # ML twin with baseline dummies for months with events
    ev_months = np.unique(sd.month[sd.event == 1])
    keep = np.isin(sd.month, ev_months)
    base = (sd.month[keep][:, None] == ev_months[None, :]).astype(float)
    cov = [sd.x[sd.unit[keep]][:, None]]
    if sd.c.shape[1]:
        cov.append(sd.c[sd.unit[keep]])
    xmat = np.column_stack([np.column_stack(cov), base])
    glm = sm.GLM(
        sd.event[keep],
        xmat,
        family=sm.families.Binomial(link=sm.families.links.CLogLog()),
    ).fit()
    b, se = float(glm.params[0]), float(glm.bse[0])
    freq_rows = [
        frequentist_row(
            "log_hazard_ratio_per_sd",
            estimate=b,
            std_error=se,
            method="ML cloglog GLM",
            level=hdi_prob,
        ),
        frequentist_row(
            "log_hazard_ratio_per_log_unit",
            estimate=b / sd.x_scale,
            std_error=se / sd.x_scale,
            method="ML cloglog GLM",
            level=hdi_prob,
        ),
    ]
    freq = tidy_frame(freq_rows)
    if months_ols is not None:
        freq = tidy_frame(pd.concat([freq, months_ols], ignore_index=True))
    return {
        "fit": res,
        "estimates": bayes,
        "frequentist": freq,
        "censored": pd.DataFrame(cens_rows),
        "tiers": pd.DataFrame(tier_rows),
    }
