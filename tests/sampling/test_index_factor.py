"""Hierarchical factor index: builder checks (fast) and recovery of known loadings / tier means from
SYNTHETIC data simulated from the model itself (slow). Implied weights checked against the closed
form of a one-factor model (rho = 1): w_j proportional to lambda_j / psi_j^2 (Bartlett/Thomson)."""

from __future__ import annotations

import numpy as np
import pytest

from bayesres.index.factor import build_factor_model, implied_weights, preprocess

DIMS = ("d0", "d1")
DIM_INDEX = np.array([0, 0, 0, 1, 1, 1])
IND = tuple(f"x{j}" for j in range(6))
LAM = np.array([0.9, 0.7, 0.5, 0.8, 0.6, 0.4])
PSI = np.array([0.4, 0.5, 0.6, 0.4, 0.5, 0.6])
RHO = np.array([0.8, 0.7])
MU = np.array([-0.8, 0.0, 0.8])


def simulate(n: int = 240, seed: int = 0):
    """SYNTHETIC data from the factor model with known parameters."""
    rng = np.random.default_rng(seed)
    tier = np.arange(n) % 3
    xi = MU[tier] + rng.normal(size=n)
    eta = RHO[None, :] * xi[:, None] + np.sqrt(1 - RHO**2)[None, :] * rng.normal(size=(n, 2))
    x = LAM[None, :] * eta[:, DIM_INDEX] + PSI[None, :] * rng.normal(size=(n, 6))
    return x, tier, xi


def _model(x, tier):
    return build_factor_model(
        x,
        indicators=IND,
        dimensions=DIMS,
        dim_index=DIM_INDEX,
        unit_codes=np.arange(x.shape[0]),
        units=tuple(f"u{i}" for i in range(x.shape[0])),
        tier_codes=tier,
        tiers=("low", "mid", "high"),
    )


def test_builder_named_dims_and_finite_logp():
    x, tier, _ = simulate(n=30)
    m = _model(x, tier)
    assert m.named_vars_to_dims["lam"] == ("indicator",)
    assert m.named_vars_to_dims["mu_tier"] == ("tier",)
    assert m.named_vars_to_dims["xi"] == ("unit",)
    assert np.isfinite(m.compile_logp()(m.initial_point()))


def test_implied_weights_one_factor_closed_form():
    w = implied_weights(LAM, PSI, np.array([1.0, 1.0]), DIM_INDEX)
    ref = LAM / PSI**2
    np.testing.assert_allclose(w, ref / ref.sum(), rtol=1e-10)


def test_preprocess_logs_skewed_and_aligns_signs():
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.lognormal(0, 1.5, 200), rng.normal(size=200)])
    z, logged = preprocess(x, np.array([1, -1]))
    assert logged == (0,)
    np.testing.assert_allclose(z.std(axis=0, ddof=1), 1.0)
    assert np.corrcoef(z[:, 1], x[:, 1])[0, 1] < -0.99


@pytest.mark.slow
def test_recovers_loadings_and_tier_means():
    from bayesres.config import SamplerSettings
    from bayesres.sampling import fit

    x, tier, _ = simulate()
    res = fit(
        _model(x, tier),
        settings=SamplerSettings.make(draws=300, tune=400, chains=2, seed=1),
        key=("test-index-factor", x.shape),
        gate_vars=["lam", "psi", "rho", "mu_tier"],
    )
    post = res.idata["posterior"]
    lam = post["lam"].values.reshape(-1, 6)
    mu = post["mu_tier"].values.reshape(-1, 3)
    assert res.report.divergences == 0
    # truth inside the central 95% posterior interval, and the posterior means close
    for draws, truth in ((lam, LAM), (mu, MU)):
        lo, hi = np.quantile(draws, [0.025, 0.975], axis=0)
        assert np.all((lo < truth) & (truth < hi)), (lo, hi, truth)
    np.testing.assert_allclose(lam.mean(axis=0), LAM, atol=0.15)
    np.testing.assert_allclose(mu.mean(axis=0), MU, atol=0.3)
