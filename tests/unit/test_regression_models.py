"""Builders and helpers of the regression module: named dims, finite logp, simulator, errors."""

from __future__ import annotations

import warnings
from dataclasses import replace

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


def test_prior_scales_enter_through_the_one_data_vector(data):
    """Each ``Priors`` multiplier reaches the density it scales, through ``pm.Data("scales")``.

    The log density at a fixed point is compared with itself after doubling one multiplier (a
    data swap, no rebuild): the change must equal the change of that prior's own log density
    (scipy), computed from the documented priors: a0 ~ N(ybar, 2.5 s_y); b0, gamma ~ N(0, 1 s_y);
    tau_a, tau_b ~ HalfNormal(0.5 s_y); sigma ~ Exponential(rate 1 / (1 s_y)).
    """
    import pymc as pm
    from scipy import stats

    m = bayes.build_model(data, variant="hierarchical", likelihood="normal")
    point = {
        "a0": np.array(0.3),
        "b0": np.array(0.1),
        "tau_a_log__": np.log(np.array(0.2)),
        "tau_b_log__": np.log(np.array(0.3)),
        "z_a": np.array([0.5, -0.2, 0.1]),
        "z_b": np.array([-0.4, 0.3, 0.0]),
        "gamma": np.array([0.05]),
        "sigma_log__": np.log(np.array(0.4)),
    }
    logp = m.compile_logp()
    ybar, s = data.y_loc, data.y_scale

    def at(priors):
        with m:
            pm.set_data({"scales": data.pm_data(priors)["scales"]})
        return float(logp(point))

    base = bayes.Priors()
    lp0 = at(base)
    expected = {
        "intercept": stats.norm(ybar, 5.0 * s).logpdf(0.3) - stats.norm(ybar, 2.5 * s).logpdf(0.3),
        "slope": sum(
            stats.norm(0, 2.0 * s).logpdf(v) - stats.norm(0, 1.0 * s).logpdf(v) for v in (0.1, 0.05)
        ),
        "group_sd": sum(
            stats.halfnorm(scale=1.0 * s).logpdf(v) - stats.halfnorm(scale=0.5 * s).logpdf(v)
            for v in (0.2, 0.3)
        ),
        "sigma": stats.expon(scale=2.0 * s).logpdf(0.4) - stats.expon(scale=1.0 * s).logpdf(0.4),
    }
    for field, diff in expected.items():
        doubled = replace(base, **{field: 2 * getattr(base, field)})
        assert at(doubled) - lp0 == pytest.approx(diff, rel=1e-9, abs=1e-9), field
    assert at(base) == pytest.approx(lp0, rel=1e-12)


def test_prior_sensitivity_reuses_the_main_fit_for_factor_one(data, monkeypatch):
    """Factor 1 is the main fit (same data, priors, settings, seed): no identical refit."""
    import xarray as xr

    from bayesres.config import SamplerSettings
    from bayesres.diagnostics import GateReport
    from bayesres.sampling import FitResult

    def fake(level: float, divergences: int) -> FitResult:
        k = len(data.tiers)
        post = xr.Dataset(
            {
                "a0": (("chain", "draw"), np.full((1, 4), data.y_loc)),
                "b0": (("chain", "draw"), np.full((1, 4), level)),
                "tau_a": (("chain", "draw"), np.full((1, 4), 0.1)),
                "tau_b": (("chain", "draw"), np.full((1, 4), 0.1)),
                "a": (("chain", "draw", "tier"), np.full((1, 4, k), data.y_loc)),
                "b": (("chain", "draw", "tier"), np.full((1, 4, k), level)),
                "gamma": (("chain", "draw", "control"), np.zeros((1, 4, 1))),
                "sigma": (("chain", "draw"), np.ones((1, 4))),
            }
        )
        tree = xr.DataTree.from_dict({"posterior": post})
        return FitResult(idata=tree, report=GateReport(divergences=divergences))

    refits = []

    def fit_variant(d, *, priors, **kw):
        refits.append(priors.group_sd)
        return None, fake(level=priors.group_sd, divergences=0)

    monkeypatch.setattr(bayes, "fit_variant", fit_variant)
    main = fake(level=7.0, divergences=5)
    table = bayes.prior_sensitivity(
        data, model=None, likelihood="normal", settings=SamplerSettings(), fitted=main
    )
    assert refits == [0.25, 1.0]  # factors 0.5 and 2 of the default group_sd 0.5
    ref = data.tiers[-1]
    one = table[(table["group_sd_factor"] == 1.0) & (table["quantity"] == f"slope[{ref}]")]
    assert float(one["mean"].iloc[0]) == pytest.approx(7.0 / data.x_scale)
    assert set(table.loc[table["group_sd_factor"] == 1.0, "divergences"]) == {5}
    # without ``fitted`` every factor is refitted
    refits.clear()
    bayes.prior_sensitivity(data, model=None, likelihood="normal", settings=SamplerSettings())
    assert refits == [0.25, 0.5, 1.0]
