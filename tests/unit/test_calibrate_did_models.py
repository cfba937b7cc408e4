"""SBC adapters of the hierarchical DID: the simulator's reading of the documented priors.

The simulator (bayesres.calibrate.did_models) is written from the did/bayes.py docstring; these
tests pin the pieces that can be checked without sampling: the documented prior values against
the code's defaults, the documented scale forms (HalfNormal >= 10 groups, Gamma(2, sqrt(6)/s)
5-9, fixed below) against ``_group_scale`` and against the real designs' models, the
treated-weighted zero-sum covariance against the code's orthonormal basis, and the adapter's
numpy log-likelihood against PyMC's log density of ``y`` at the simulated parameters.
"""

from __future__ import annotations

import numpy as np
import pytest

from bayesres.calibrate import did_models as dm
from bayesres.calibrate.models import get_model, list_models
from bayesres.did import bayes

FAST = "FAST_COMPILE"  # python linker: no numba compile for one-off evaluations


def test_documented_priors_are_the_code_defaults():
    assert {k: bayes.DEFAULT_PRIORS[k] for k in dm.DOCUMENTED_PRIORS} == dm.DOCUMENTED_PRIORS


@pytest.mark.parametrize("n", [3, 4, 5, 9, 10, 14])
def test_scale_form_matches_group_scale(n):
    import pymc as pm

    with pm.Model():
        s = bayes._group_scale("s", {"s": 0.25}, n)
    kind = dm.group_scale_kind(n)
    if kind == "fixed":
        assert s == 0.25
    else:
        op = type(s.owner.op).__name__
        assert op == {"gamma": "GammaRV", "halfnormal": "HalfNormalRV"}[kind]


@pytest.mark.parametrize("n", [3, 7, 12])
def test_every_scale_form_keeps_the_second_moment(n):
    # documented: each form keeps E[s^2] = prior^2 (0.0625); 200k draws give MC sd < 0.5 %
    rng = np.random.default_rng(n)
    s = np.array([dm.draw_group_scale(rng, n, 0.25) for _ in range(200_000)])
    assert np.mean(s**2) == pytest.approx(0.0625, rel=0.02)


def test_weighted_zero_sum_covariance_is_the_code_basis():
    rng = np.random.default_rng(0)
    for k in (2, 3, 5):
        w = rng.uniform(0.1, 1.0, k)
        w = w / w.sum()
        basis = bayes._weighted_basis(w)
        p = dm.weighted_zero_sum_cov(w)
        assert np.allclose(basis @ basis.T, p, atol=1e-12)
        assert np.allclose(w @ p, 0.0, atol=1e-12)
    # equal weights: the ZeroSumNormal covariance I - 11'/K
    assert np.allclose(dm.weighted_zero_sum_cov(np.ones(4)), np.eye(4) - 0.25)


def test_zero_sum_normal_sums_to_zero_with_pymc_variance():
    rng = np.random.default_rng(1)
    x = dm.zero_sum_normal(rng, 2.0, (20_000, 3, 5), n_axes=2)
    assert np.allclose(x.sum(axis=-1), 0.0) and np.allclose(x.sum(axis=-2), 0.0)
    one = dm.zero_sum_normal(rng, 2.0, (100_000, 4))
    assert np.allclose(one.sum(axis=-1), 0.0)
    assert one.var(axis=0).mean() == pytest.approx(4.0 * 3 / 4, rel=0.02)  # sigma^2 (n-1)/n


def test_listed():
    names = [m.name for m in list_models()]
    assert "did_hier" in names and "did_hier_ecommerce" in names


# documented (did/bayes.py docstring) scale forms on the two real designs
EXPECTED_SCALES = {
    "did_hier": {"s_th": "fixed", "s_phi": "fixed", "s_psi": "fixed", "s_pi": "gamma"},
    "did_hier_ecommerce": {
        "s_th": "gamma",  # 6 random-walk steps
        "s_phi": "fixed",  # 4 cohorts with >= 2 treated cities (2015 is one city)
        "s_psi": "gamma",  # 5 tiers
        "s_pi": "halfnormal",  # 14 lead cells
    },
}


@pytest.mark.parametrize("name", ["did_hier", "did_hier_ecommerce"])
def test_adapter_design_and_model_agree(name):
    cm = get_model(name)
    dataset = dm.DID_DATASETS[name][0]
    design = dm.did_sbc_design(dataset)
    assert (design.y_mean, design.y_sd) == (0.0, 1.0)
    assert cm.target_accept == 0.95 and design.option("leads") == 4
    s = dm._structure(dataset)
    kinds = {k: dm.group_scale_kind(n) for k, n in s.groups.items()}
    assert kinds == EXPECTED_SCALES[name]
    model = cm.build()
    free = {rv.name: type(rv.owner.op).__name__ for rv in model.free_RVs}
    for scale, kind in kinds.items():
        want = {"fixed": None, "gamma": "GammaRV", "halfnormal": "HalfNormalRV"}[kind]
        assert free.get(scale) == want, scale
    assert set(cm.variables()) <= set(model.named_vars)


@pytest.mark.parametrize("name", ["did_hier", "did_hier_ecommerce"])
def test_loglik_is_pymc_log_density_of_y(name):
    import pymc as pm

    cm = get_model(name)
    params, data = cm.simulate(np.random.default_rng(3))
    q = cm.quantities(params, data)
    assert all(np.ndim(v) == 0 and np.isfinite(v) for v in q.values())
    assert {"th0", "s_c", "ATT", "loglik"} <= set(q)
    model = cm.build()
    names = ("alpha", "gamma", "delta", "th_cov", "tau", "pi", "sigma")
    fixed = pm.do(model, {k: params[k] for k in names if k in model.named_vars})
    with fixed:
        pm.set_data(data)
    logp = fixed.compile_logp(vars=[fixed["y"]], mode=FAST)
    assert q["loglik"] == pytest.approx(float(logp(fixed.initial_point())), rel=1e-10)


def test_quantities_vectorise_over_draws():
    cm = get_model("did_hier")
    rng = np.random.default_rng(4)
    sims = [cm.simulate(rng) for _ in range(3)]
    data = sims[0][1]
    stacked = {k: np.stack([p[k] for p, _ in sims]) for k in sims[0][0]}
    q = cm.quantities(stacked, data)
    for i, (p, _) in enumerate(sims):
        one = cm.quantities(p, data)
        for k, v in one.items():
            assert q[k][i] == pytest.approx(float(v), rel=1e-12), k


@pytest.mark.parametrize("name", ["did_hier", "did_hier_ecommerce"])
def test_variant_is_the_analysis_choice_on_the_real_outcome(name):
    # SBC fits each simulated data set in the form bayesres did would pick for it; on the real
    # outcome that is did_design's own choice (non-centred cells and walk, centred tier terms)
    dataset = dm.DID_DATASETS[name][0]
    design = dm.did_sbc_design(dataset)
    variant = get_model(name).variant_of({"y_std": design.arrays["y_std"]})
    assert variant == "cells=nc rw=nc psi=c"
    assert dm._variant_options(variant) == {k: design.option(k) for k in dm.CENTRING_OPTIONS}


def test_variant_without_tier_spread_builds_noncentred_tier_terms():
    # pure noise: no cell or tier spread, so the pilot picks the non-centred forms throughout
    cm = get_model("did_hier_ecommerce")
    design = dm.did_sbc_design("ecommerce_panel")
    y = np.random.default_rng(0).normal(size=design.n_obs)
    variant = cm.variant_of({"y_std": y})
    assert variant == "cells=nc rw=nc psi=nc"
    model = cm.build(variant)
    free = {rv.name for rv in model.free_RVs}
    assert {"z_psi_raw", "u_c", "rw"} <= free and "z_psi" not in free
    assert set(cm.variables()) <= set(model.named_vars)
    centred = {rv.name for rv in cm.build("cells=c rw=c psi=c").free_RVs}
    assert {"z_psi", "tau", "d_theta"} <= centred and not {"z_psi_raw", "u_c", "rw"} & centred
