"""S6 diagnosis: why does bayes-hier-normal under-cover slope[first]?  Variants on identical data.

Usage (from the repository root):
    python docs/calibration/scripts/s6_diagnosis.py SCENARIO START:STOP VARIANTS OUT.csv
e.g. ... S6 0:40 global,within,tauA2.0,nopool docs/calibration/s6/diag_S6_0-40.csv

Data y and MCMC seeds are those of ``bayesres calibrate coverage`` (seed 0) for the same
(scenario, rep). Variants: ``global`` the shipped hierarchical Normal model (x centred at the
global mean), ``within`` the same model and priors with x centred within tiers
(x - mean_k(x)) / sd(x), ``within_gsd2`` within + group-sd prior x2, ``tauA<m>`` global
centring with tau_a ~ HalfNormal(m s_y) (tau_b unchanged), ``nopool`` the shipped no-pool model.
All hierarchical variants start at target_accept 0.95 (as the coverage study).
"""

import sys
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from bayesres.calibrate import coverage as cv
from bayesres.calibrate.regression_models import design_tier_data
from bayesres.config import SamplerSettings
from bayesres.regression.bayes import build_model, fit_variant, raw_draws
from bayesres.sampling import fit

scen = sys.argv[1]
start, reps = map(int, sys.argv[2].split(":"))
variants = sys.argv[3].split(",")
out = sys.argv[4]
des = cv.coverage_design("customs38", seed=0)
sc = cv.SCENARIOS[scen]
truth = cv.truths(sc, des.tiers)
tiers = des.tiers


def within(td):
    xr = td.x * td.x_scale + td.x_loc
    m = np.array([xr[td.tier == k].mean() for k in range(len(td.tiers))])
    return replace(td, x=(xr - m[td.tier]) / td.x_scale)


def build_wide_tau_a(td, mult):
    import pymc as pm

    d = td.pm_data()
    with pm.Model(coords={"obs": np.arange(td.n), "tier": list(td.tiers), "control": ["c"]}) as m:
        y_obs = pm.Data("y_obs", td.y, dims="obs")
        x = pm.Data("x", td.x, dims="obs")
        tier = pm.Data("tier_idx", td.tier.astype(np.int64), dims="obs")
        scales = pm.Data("scales", d["scales"])
        y_loc, s = scales[0], scales[1]
        a0 = pm.Normal("a0", y_loc, 2.5 * s)
        b0 = pm.Normal("b0", 0.0, 1.0 * s)
        tau_a = pm.HalfNormal("tau_a", mult * s)
        tau_b = pm.HalfNormal("tau_b", 0.5 * s)
        z_a = pm.Normal("z_a", 0, 1, dims="tier")
        z_b = pm.Normal("z_b", 0, 1, dims="tier")
        a = pm.Deterministic("a", a0 + tau_a * z_a, dims="tier")
        b = pm.Deterministic("b", b0 + tau_b * z_b, dims="tier")
        c = pm.Data("c", td.c, dims=("obs", "control"))
        gamma = pm.Normal("gamma", 0.0, 1.0 * s, dims="control")
        sigma = pm.Exponential("sigma", 1.0 / s)
        pm.Normal(
            "y", a[tier] + b[tier] * x + pm.math.dot(c, gamma), sigma, observed=y_obs, dims="obs"
        )
    return m


models = {}
rows = []
t_start = time.time()
for rep in range(start, reps):
    y_ss, boot_ss, mcmc_ss = cv.scenario_seed(0, scen, rep).spawn(3)
    y = cv.simulate_y(des, sc, np.random.default_rng(y_ss))
    mseed = int(mcmc_ss.generate_state(1)[0])
    # the diagnosis compares against the model as shipped then: x centred globally
    td0 = design_tier_data(y, design=des, centre="global")
    for v in variants:
        st = SamplerSettings(
            draws=500,
            tune=500,
            chains=2,
            cores=1,
            seed=mseed,
            target_accept=0.95 if v != "nopool" else 0.9,
        )
        t0 = time.perf_counter()
        if v in ("global", "within", "within_gsd2"):
            td = td0 if v == "global" else within(td0)
            from bayesres.regression.bayes import Priors

            pr = Priors(group_sd=1.0) if v == "within_gsd2" else Priors()
            key = ("hier", "normal")
            if key not in models:
                models[key] = build_model(td, variant="hierarchical", likelihood="normal")
            _, res = fit_variant(
                td,
                variant="hierarchical",
                likelihood="normal",
                settings=st,
                model=models[key],
                swap=True,
                priors=pr,
            )
        elif v == "nopool":
            td = td0
            key = ("nopool",)
            if key not in models:
                models[key] = build_model(td, variant="nopool", likelihood="normal")
            _, res = fit_variant(
                td, variant="nopool", likelihood="normal", settings=st, model=models[key], swap=True
            )
        elif v.startswith("tauA"):
            mult = float(v[4:])
            td = td0
            key = ("tauA", mult)
            if key not in models:
                models[key] = build_wide_tau_a(td, mult)
            data = {k: vv for k, vv in td.pm_data().items()}
            res = fit(
                models[key],
                settings=st,
                key=("s6diag",) + key,
                data=data,
                derived=lambda i, td=td: raw_draws(i, td),
            )
        sec = time.perf_counter() - t0
        dr = raw_draws(res.idata, td)
        post = res.idata["posterior"]
        extra = {}
        if "tau_a" in post:
            extra["tau_a_med"] = float(np.median(post["tau_a"].values))
            extra["tau_b_med"] = float(np.median(post["tau_b"].values))
        a = post["a"].values.reshape(-1, 3)
        b = post["b"].values.reshape(-1, 3)
        extra["corr_ab_first"] = float(np.corrcoef(a[:, 0], b[:, 0])[0, 1])
        for q in truth:
            d = dr[q].reshape(-1)
            lo, hi = np.quantile(d, [0.025, 0.975])
            rows.append(
                dict(
                    scenario=scen,
                    variant=v,
                    rep=rep,
                    quantity=q,
                    truth=truth[q],
                    estimate=float(np.median(d)),
                    lower=lo,
                    upper=hi,
                    seconds=sec,
                    div=int(res.report.divergences),
                    attempts=res.attempts,
                    s_y=float(td.y_scale),
                    **extra,
                )
            )
    if rep % 10 == 9 or rep == reps - 1:
        pd.DataFrame(rows).to_csv(out, index=False)
        print(rep + 1, f"{time.time() - t_start:.0f}s", flush=True)
