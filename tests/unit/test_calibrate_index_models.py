"""SBC adapter of the factor index: simulator constants, log-likelihood, vectorised quantities.

The adapter's log-likelihood is a dense multivariate normal of each city's indicators; it is
checked against scipy (covariance written out entry by entry from the generative definition in
index/factor.py's docstring) and against the model's own ``loglik`` potential (Woodbury /
Sherman-Morrison algebra) at the simulated parameters.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayesres.calibrate import index_models as im
from bayesres.calibrate.models import get_model, list_models
from bayesres.index import factor

FAST = "FAST_COMPILE"


def test_documented_prior_constants_are_the_code_constants():
    assert im.H_PRIOR == factor.H_PRIOR and im.S_PRIOR_SD == factor.S_PRIOR_SD


def test_listed_with_the_analysis_sampler_settings():
    assert "factor_index" in [m.name for m in list_models()]
    cm = get_model("factor_index")
    assert cm.adaptation == "low_rank"  # as bayesres index --method factor


def _dense_loglik(x, p, d):
    m = x.shape[1]
    dim = d["dim_index"]
    cov = np.empty((m, m))
    for j in range(m):
        for k in range(m):
            r = 1.0 if dim[j] == dim[k] else p["rho"][dim[j]] * p["rho"][dim[k]]
            cov[j, k] = p["lam"][j] * p["lam"][k] * r + (p["psi"][j] ** 2 if j == k else 0.0)
    b = p["rho"][dim] * p["lam"]
    total = 0.0
    for u in range(x.shape[0]):
        mean = p["nu"] + p["mu_tier"][d["tier_codes"][u]] * b
        total += stats.multivariate_normal(mean, cov).logpdf(x[u])
    return total


def test_loglik_against_scipy_and_the_model_potential():
    import pymc as pm
    import pytensor

    cm = get_model("factor_index")
    d = im.factor_design()
    assert (d["n_units"], len(d["indicators"]), len(d["dimensions"])) == (38, 20, 4)
    params, data = cm.simulate(np.random.default_rng(0))
    q = cm.quantities(params, data)
    assert all(np.ndim(v) == 0 and np.isfinite(v) for v in q.values())
    assert q["loglik"] == pytest.approx(_dense_loglik(data["x"], params, d), rel=1e-10)
    model = cm.build()
    fixed = pm.do(model, {k: params[k] for k in ("nu", "h", "s", "rho", "mu_tier")})
    with fixed:
        pm.set_data(data)
    potential = pytensor.function([], fixed["loglik"], mode=FAST)()
    assert q["loglik"] == pytest.approx(float(potential), rel=1e-10)


def test_quantities_vectorise_and_draw_xi_for_posteriors():
    cm = get_model("factor_index")
    rng = np.random.default_rng(1)
    sims = [cm.simulate(rng) for _ in range(3)]
    data = sims[0][1]
    names = ("nu", "h", "s", "lam", "psi", "rho", "mu_tier")
    stacked = {k: np.stack([p[k] for p, _ in sims]) for k in names}  # no xi: posterior path
    q = cm.quantities(stacked, data)
    for i, (p, _) in enumerate(sims):
        one = cm.quantities(p, data)  # truth path (xi given)
        for k, v in one.items():
            if k.startswith("xi["):
                assert np.shape(q[k]) == (3,) and np.isfinite(q[k]).all()
            else:
                assert q[k][i] == pytest.approx(float(v), rel=1e-10), k
    weights = [k for k in q if k.startswith("dimension_weight[")]
    assert np.allclose(sum(q[k] for k in weights), 1.0)
    again = cm.quantities(stacked, data)  # xi draws are seeded by the data
    assert all(np.array_equal(again[k], q[k]) for k in q)
