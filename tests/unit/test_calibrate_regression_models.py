"""SBC adapters of the shipped tier regression (no MCMC): simulator = model prior, quantities.

Reference for the prior check: the model's log density at a point (``compile_logp`` without
Jacobian, on the constrained scale) must equal the sum of the documented prior densities
(scipy) plus the likelihood of the simulated data, for the very parameters the simulator drew.
A simulator whose prior differs from the model's (group-sd prior 2 x) breaks the equality.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayesres.calibrate import list_models
from bayesres.calibrate.models import get_model
from bayesres.calibrate.regression_models import (
    design_tier_data,
    tier_quantities,
    tier_simulator,
)
from bayesres.regression.bayes import Priors

NAMES = [m.name for m in list_models() if m.name.startswith("regression_")]


def test_all_shipped_variants_listed_and_private_model_gone():
    assert set(NAMES) == {
        f"regression_{v}_{lik}"
        for v in ("hier", "pooled", "nopool")
        for lik in ("normal", "student")
    }
    assert "tier_regression_hier" not in [m.name for m in list_models(include_unlisted=True)]


def test_design_is_the_customs38_coverage_design_standardised():
    td = design_tier_data()
    assert td.tiers == ("first", "new_first", "other") and np.bincount(td.tier).tolist() == [
        4,
        12,
        22,
    ]
    # default centring "tier": zero mean within each tier, divided by the global sd of x_raw
    x_raw = td.x * td.x_scale + td.x_tier_loc[td.tier]
    assert x_raw.std(ddof=1) == pytest.approx(td.x_scale) and x_raw.mean() == pytest.approx(
        td.x_loc
    )
    for k in range(3):
        assert td.x[td.tier == k].mean() == pytest.approx(0, abs=1e-12)
        assert td.x_tier_loc[k] == pytest.approx(x_raw[td.tier == k].mean())
    # the pooled model sees x centred globally; so does every variant under centre="global"
    assert td.x_for("pooled").mean() == pytest.approx(0, abs=1e-12)
    assert td.x_for("pooled").std(ddof=1) == pytest.approx(1)
    tg = design_tier_data(centre="global")
    assert tg.x.mean() == pytest.approx(0, abs=1e-12) and tg.x.std(ddof=1) == pytest.approx(1)
    assert tg.x == pytest.approx(td.x_for("pooled"), abs=1e-12)
    assert td.c.shape == (38, 1) and (td.y_loc, td.y_scale) == (0.0, 1.0)
    y = np.random.default_rng(0).normal(2.0, 0.3, 38)
    td_y = design_tier_data(y)
    assert td_y.y_loc == pytest.approx(y.mean()) and td_y.y_scale == pytest.approx(y.std(ddof=1))


@pytest.mark.parametrize("name", NAMES)
def test_simulate_and_quantities_shapes(name):
    cm = get_model(name)
    params, data = cm.simulate(np.random.default_rng(3))
    assert set(params) == set(cm.var_names) and data["y_obs"].shape == (38,)
    q = cm.quantities(params, data)
    assert "loglik" in q and "sigma" in q and "coef[c]" in q
    assert all(np.ndim(v) == 0 and np.isfinite(v) for v in q.values())
    if "hier" in name or "nopool" in name:
        assert {"slope[first]", "slope_diff[first-other]", "slope_diff[first-new_first]"} <= set(q)
    if "hier" in name:
        assert {"slope_mean", "tau_slope", "tau_intercept"} <= set(q)
    # vectorised over draws: stacking two different prior draws gives each one's quantities
    p2, _ = cm.simulate(np.random.default_rng(4))
    stacked = {k: np.stack([params[k], p2[k]]) for k in params}
    qs = cm.quantities(stacked, data)
    q2 = cm.quantities(p2, data)
    for k in q:
        assert qs[k].shape == (2,)
        assert qs[k] == pytest.approx([float(q[k]), float(q2[k])], rel=1e-12)


def test_raw_scale_slope_and_loglik_closed_form():
    cm = get_model("regression_hier_normal")
    params, data = cm.simulate(np.random.default_rng(5))
    td = design_tier_data()
    q = cm.quantities(params, data)
    assert q["slope[first]"] == pytest.approx(params["b"][0] / td.x_scale)
    assert q["slope_diff[new_first-other]"] == pytest.approx(
        (params["b"][1] - params["b"][2]) / td.x_scale
    )
    mu = params["a"][td.tier] + params["b"][td.tier] * td.x + td.c @ params["gamma"]
    ll = stats.norm.logpdf(data["y_obs"], mu, params["sigma"]).sum()
    assert q["loglik"] == pytest.approx(ll, rel=1e-12)


def _prior_logpdf(p, pr, s=1.0):
    lp = stats.norm.logpdf(p["a0"], 0.0, pr.intercept * s) + stats.norm.logpdf(
        p["b0"], 0.0, pr.slope * s
    )
    lp += stats.halfnorm.logpdf([p["tau_a"], p["tau_b"]], scale=pr.group_sd * s).sum()
    lp += stats.norm.logpdf(np.r_[p["z_a"], p["z_b"]]).sum()
    lp += stats.norm.logpdf(p["gamma"], 0.0, pr.slope * s).sum()
    lp += stats.expon.logpdf(p["sigma"], scale=pr.sigma * s)
    return float(lp)


@pytest.fixture(scope="module")
def hier_logp():
    cm = get_model("regression_hier_normal")
    model = cm.build()
    return model, model.compile_logp(jacobian=False, mode="FAST_COMPILE")


def _model_logp(model, logp, params, y):
    model.set_data("y_obs", y)
    point = {}
    for v in model.free_RVs:
        val = np.asarray(params[v.name], float)
        tr = model.rvs_to_transforms.get(v)
        vv = model.rvs_to_values[v]
        point[vv.name] = tr.forward(val).eval() if tr is not None else val
    return float(logp(point))


def test_simulator_prior_equals_model_prior(hier_logp):
    model, logp = hier_logp
    cm = get_model("regression_hier_normal")
    for seed in (0, 1):
        params, data = cm.simulate(np.random.default_rng(seed))
        expected = _prior_logpdf(params, Priors()) + float(cm.quantities(params, data)["loglik"])
        assert _model_logp(model, logp, params, data["y_obs"]) == pytest.approx(expected, rel=1e-9)


def test_prior_check_fails_for_a_mismatched_simulator(hier_logp):
    # broken case: the simulator draws the group sds with 2 x the model's prior scale; the
    # documented-density identity then no longer holds (the model density uses Priors())
    model, logp = hier_logp
    wide = Priors(group_sd=1.0)
    params, data = tier_simulator("hierarchical", "normal", priors=wide)(np.random.default_rng(0))
    expected = _prior_logpdf(params, wide) + float(tier_quantities(params, data)["loglik"])
    assert _model_logp(model, logp, params, data["y_obs"]) != pytest.approx(expected, rel=1e-6)
