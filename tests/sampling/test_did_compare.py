"""Leave-one-unit-out LOO for the Bayesian DID (bayesres.did.compare).

Reference: PyMC's own ``compute_log_likelihood`` (the model's logp graph) evaluated at joint
prior draws of every free variable and Deterministic; the numpy log-likelihood must agree
pointwise, and the per-unit sums must be its sums over each unit's rows.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayesres.did.bayes import build_did_model
from bayesres.did.compare import loo_table, pointwise_loglik, unit_loglik
from bayesres.simulate.panel import simulate_staggered_panel
from bayesres.validate import validate_panel

# slow: PyMC compiles the prior sampler and the logp graph (~20-60 s per case on 2 cores)
pytestmark = [pytest.mark.filterwarnings("ignore::bayesres.errors.DataWarning"), pytest.mark.slow]


def _panel(with_control: bool):
    df, _ = simulate_staggered_panel(
        n_units=24,
        n_periods=6,
        cohorts={0: 10, 2014: 7, 2016: 7},
        tiers={"a": 12, "b": 12},
        seed=5,
        first_period=2012,
    )
    df = df.rename(columns={"period": "year"})
    df["x"] = np.random.default_rng(1).normal(size=len(df))
    return validate_panel(
        df,
        source="sim",
        unit="unit",
        time="year",
        cohort="cohort",
        outcome="y",
        tier="tier",
        controls=("x",) if with_control else (),
    )


def _prior_as_posterior(model):
    import pymc as pm

    prior = pm.sample_prior_predictive(draws=30, model=model, random_seed=3)["prior"]
    ds = prior.to_dataset() if hasattr(prior, "to_dataset") else prior
    return xr.DataTree.from_dict({"posterior": ds})


@pytest.mark.parametrize(
    ("likelihood", "leads", "control"), [("normal", 3, True), ("student", 0, False)]
)
def test_numpy_loglik_matches_pymc_logp(likelihood, leads, control):
    import pymc as pm

    model, design = build_did_model(_panel(control), leads=leads, likelihood=likelihood)
    idata = _prior_as_posterior(model)
    ours = pointwise_loglik(idata, design)
    ref = pm.compute_log_likelihood(idata, model=model, progressbar=False)
    ref = np.asarray(ref["log_likelihood"]["y"].values)
    assert ours.shape == ref.shape == (1, 30, design.n_obs)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9)
    per_unit = unit_loglik(idata, design)
    u = design.arrays["unit_idx"]
    np.testing.assert_allclose(per_unit.values[..., 3], ref[..., u == 3].sum(-1), rtol=1e-12)


def test_loo_table_is_leave_one_unit_out():
    model, design = build_did_model(_panel(False), leads=0)
    a = _prior_as_posterior(model)
    b = xr.DataTree.from_dict({"posterior": a["posterior"].to_dataset()})
    b["posterior"]["sigma"] = b["posterior"]["sigma"] * 3.0
    table = loo_table({"m1": (a, design), "wide": (b, design)}).set_index("model")
    assert (table["n_units"] == 24).all()
    assert np.isfinite(table["pareto_k_max"]).all()
    assert a["log_likelihood"]["y"].dims == ("chain", "draw", "unit")
    # the table's elpd is PSIS-LOO over the 24 units' summed log-likelihoods, which are built
    # here independently from the (PyMC-checked) pointwise values
    import arviz as az

    for name, tree in (("m1", a), ("wide", b)):
        ll = pointwise_loglik(tree, design)
        per_unit = np.stack(
            [ll[..., design.arrays["unit_idx"] == j].sum(-1) for j in range(24)], axis=-1
        )
        ref = xr.DataTree.from_dict(
            {
                "posterior": tree["posterior"].to_dataset()[["sigma"]],
                "log_likelihood": xr.Dataset({"y": (("chain", "draw", "u"), per_unit)}),
            }
        )
        with _nullcontext():
            elpd = float(az.loo(ref).elpd)
        assert table.loc[name, "elpd"] == pytest.approx(elpd, rel=1e-9)


def _nullcontext():
    import contextlib
    import warnings

    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore", UserWarning)  # Pareto k warnings on prior draws
    return stack
