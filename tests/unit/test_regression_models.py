"""Builders and helpers of the regression module: named dims, finite logp, simulator, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bayesres.errors import SpecError
from bayesres.regression import bayes
from bayesres.simulate.tiers import simulate_tier_regression
from bayesres.validate import validate_cross_section


@pytest.fixture(scope="module")
def data():
    df = simulate_tier_regression(seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = validate_cross_section(
            df,
            source="sim",
            outcome="y",
            predictor="x",
            controls=["c"],
            unit="unit",
            tier="tier",
            reference_tier="other",
        )
    return bayes.prepare(cs)


def test_simulator_sizes_and_truth():
    df = simulate_tier_regression(sizes=(4, 12, 22), slopes=(0.1, 0.2, 0.3), seed=1)
    assert df["tier"].value_counts().to_dict() == {"other": 22, "new_first": 12, "first": 4}
    assert df.attrs["truth"]["slope_diff[first-other]"] == pytest.approx(-0.2)
    assert simulate_tier_regression(seed=1).equals(simulate_tier_regression(seed=1))


@pytest.mark.parametrize("variant", bayes.VARIANTS)
@pytest.mark.parametrize("likelihood", bayes.LIKELIHOODS)
def test_builders_named_dims_finite_logp(data, variant, likelihood):
    m = bayes.build_model(data, variant=variant, likelihood=likelihood)
    assert set(m.coords) >= {"obs", "tier", "control"}
    assert np.isfinite(m.compile_logp()(m.initial_point()))
    if variant == "hierarchical":
        assert {"z_a", "z_b", "tau_a", "tau_b"} <= set(m.named_vars)


def test_bad_variant(data):
    with pytest.raises(SpecError):
        bayes.build_model(data, variant="nope")


def test_raw_scale_back_transform(data):
    """A fake posterior with b = sd(x) * 0.2 must give slope 0.2 on the raw scale."""
    import xarray as xr

    post = xr.Dataset(
        {
            "a": (("chain", "draw"), np.full((1, 2), data.y_loc)),
            "b": (("chain", "draw"), np.full((1, 2), 0.2 * data.x_scale)),
            "gamma": (("chain", "draw", "control"), np.zeros((1, 2, 1))),
            "sigma": (("chain", "draw"), np.ones((1, 2))),
        }
    )
    out = bayes.raw_draws(xr.DataTree.from_dict({"posterior": post}), data)
    np.testing.assert_allclose(out["slope"], 0.2)
    np.testing.assert_allclose(out["intercept"], data.y_loc - 0.2 * data.x_loc)
