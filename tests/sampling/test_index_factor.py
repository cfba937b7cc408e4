"""Hierarchical factor index.

Fast: builder dims / finite logp; the closed-form marginal log density against a dense
multivariate normal built from the generative definition (scipy, every latent spelled out); the
exact conditional of the unit latent xi against dense Gaussian conditioning; implied weights
against the closed forms of a one-factor model (w_j proportional to lambda_j / psi_j^2,
Bartlett/Thomson) and of the dimension model (Woodbury by hand); preprocessing.
Slow: recovery of known loadings, tier means and unit latents from SYNTHETIC data simulated from
the model itself (one compiled model, one small fit).
"""

from __future__ import annotations

import numpy as np
import pytest

from bayesres.index.factor import build_factor_model, implied_weights, latent_draws, preprocess

DIMS = ("d0", "d1")
DIM_INDEX = np.array([0, 0, 0, 1, 1, 1])
IND = tuple(f"x{j}" for j in range(6))
LAM = np.array([0.9, 0.7, 0.5, 0.8, 0.6, 0.4])
PSI = np.array([0.4, 0.5, 0.6, 0.4, 0.5, 0.6])
RHO = np.array([0.8, 0.7])
MU = np.array([-0.8, 0.0, 0.8])
TIERS = ("low", "mid", "high")
FAST = "FAST_COMPILE"  # python linker: no numba compile for one-off evaluations


def simulate(n: int = 150, seed: int = 0):
    """SYNTHETIC data from the factor model with known parameters."""
    rng = np.random.default_rng(seed)
    tier = np.arange(n) % 3
    xi = MU[tier] + rng.normal(size=n)
    eta = RHO[None, :] * xi[:, None] + np.sqrt(1 - RHO**2)[None, :] * rng.normal(size=(n, 2))
    x = LAM[None, :] * eta[:, DIM_INDEX] + PSI[None, :] * rng.normal(size=(n, 6))
    return x, tier, xi


def _model(x, tier, unit_codes=None, time_codes=None, n_times=0):
    n_units = len(tier)
    return build_factor_model(
        x,
        indicators=IND,
        dimensions=DIMS,
        dim_index=DIM_INDEX,
        unit_codes=np.arange(x.shape[0]) if unit_codes is None else unit_codes,
        units=tuple(f"u{i}" for i in range(n_units)),
        tier_codes=tier,
        tiers=TIERS,
        time_codes=time_codes,
        times=tuple(f"t{t}" for t in range(n_times)),
    )


def test_builder_named_dims_and_finite_logp():
    x, tier, _ = simulate(n=30)
    m = _model(x, tier)
    assert m.named_vars_to_dims["lam"] == ("indicator",)
    assert m.named_vars_to_dims["psi"] == ("indicator",)
    assert m.named_vars_to_dims["rho"] == ("dimension",)
    assert m.named_vars_to_dims["mu_tier"] == ("tier",)
    assert "kappa" not in m.named_vars
    assert np.isfinite(m.compile_logp(mode=FAST)(m.initial_point()))


# a small unbalanced panel: 4 units in 2 tiers, 3 periods, unit 3 misses period 2
PANEL_UNITS = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3])
PANEL_TIMES = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1])
PANEL_TIERS = np.array([0, 0, 1, 2])


def _panel_point(seed: int = 3):
    """The panel model at a random (non-default) parameter point and that point's values."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(PANEL_UNITS), 6))
    m = _model(x, PANEL_TIERS, unit_codes=PANEL_UNITS, time_codes=PANEL_TIMES, n_times=3)
    point = {k: v + rng.normal(0.0, 0.4, size=np.shape(v)) for k, v in m.initial_point().items()}
    names = ["loglik", "lam", "psi", "rho", "nu", "mu_tier", "kappa", "sigma_omega"]
    import pytensor

    outs = m.replace_rvs_by_values([m[n] for n in names])
    fn = pytensor.function(m.value_vars, outs, mode=FAST, on_unused_input="ignore")
    vals = dict(zip(names, fn(*(point[v.name] for v in m.value_vars)), strict=True))
    return x, vals


def _dense(vals):
    """Mean and covariance of the stacked rows, and Cov(xi_units, rows), from every latent."""
    lam, psi, rho = vals["lam"], vals["psi"], vals["rho"]
    n_rows, m, n_units = len(PANEL_UNITS), len(lam), PANEL_TIERS.size
    rj = rho[DIM_INDEX]
    b = rj * lam
    blocks = []  # loading of the stacked x (n_rows*m) on each latent, latents with unit variance
    for u in range(n_units):  # xi_u
        col = np.zeros(n_rows * m)
        for r in np.flatnonzero(PANEL_UNITS == u):
            col[r * m : (r + 1) * m] = b
        blocks.append(col)
    for r in range(n_rows):  # omega_r (sd sigma_omega), zeta_{r,d}, eps_{r,j}
        col = np.zeros(n_rows * m)
        col[r * m : (r + 1) * m] = vals["sigma_omega"] * b
        blocks.append(col)
        for d in range(2):
            col = np.zeros(n_rows * m)
            sel = DIM_INDEX == d
            col[r * m : (r + 1) * m][sel] = np.sqrt(1 - rho[d] ** 2) * lam[sel]
            blocks.append(col)
        for j in range(m):
            col = np.zeros(n_rows * m)
            col[r * m + j] = psi[j]
            blocks.append(col)
    load = np.column_stack(blocks)
    cov = load @ load.T
    mu_u = vals["mu_tier"][PANEL_TIERS]
    loc = mu_u[PANEL_UNITS] + vals["kappa"][PANEL_TIMES]
    mean = (vals["nu"][None, :] + loc[:, None] * b[None, :]).ravel()
    return mean, cov, load[:, :n_units].T, mu_u


def test_marginal_loglik_matches_dense_mvn():
    from scipy.stats import multivariate_normal

    x, vals = _panel_point()
    mean, cov, _, _ = _dense(vals)
    ref = multivariate_normal(mean, cov).logpdf(x.ravel())
    np.testing.assert_allclose(vals["loglik"], ref, rtol=1e-10)


def test_latent_conditional_matches_dense_gaussian_conditioning():
    x, vals = _panel_point()
    mean, cov, cxy, mu_u = _dense(vals)
    k = np.linalg.solve(cov, cxy.T).T  # Cov(xi, x) Var(x)^-1
    ref_mean = mu_u + k @ (x.ravel() - mean)
    ref_var = 1.0 - np.sum(k * cxy, axis=1)
    draws = 4000
    post = {
        n: np.broadcast_to(np.asarray(vals[n]), (1, draws, *np.shape(vals[n])))
        for n in ("lam", "psi", "rho", "nu", "mu_tier", "kappa", "sigma_omega")
    }
    post = {n: type("V", (), {"values": v, "shape": v.shape})() for n, v in post.items()}
    xi = latent_draws(
        post,
        x,
        dim_index=DIM_INDEX,
        unit_codes=PANEL_UNITS,
        n_units=4,
        tier_codes=PANEL_TIERS,
        time_codes=PANEL_TIMES,
        seed=0,
    )[0]
    se = np.sqrt(ref_var / draws)
    assert np.all(np.abs(xi.mean(axis=0) - ref_mean) < 4 * se), (xi.mean(axis=0), ref_mean)
    np.testing.assert_allclose(xi.var(axis=0), ref_var, rtol=0.1)


def test_implied_weights_one_factor_closed_form():
    w = implied_weights(LAM, PSI, np.array([1.0, 1.0]), DIM_INDEX)
    ref = LAM / PSI**2
    np.testing.assert_allclose(w, ref / ref.sum(), rtol=1e-10)


def test_implied_weights_dimension_model_closed_form():
    # Sigma^-1 b with Sigma = A + b b': proportional to A^-1 b, and within dimension d
    # A_d^-1 b_d = rho_d Psi_d^-1 lam_d / (1 + (1 - rho_d^2) sum_d lam^2 / psi^2)
    w = implied_weights(LAM, PSI, RHO, DIM_INDEX)
    s_d = np.bincount(DIM_INDEX, LAM**2 / PSI**2)
    ref = RHO[DIM_INDEX] * LAM / PSI**2 / (1 + (1 - RHO**2) * s_d)[DIM_INDEX]
    np.testing.assert_allclose(w, ref / ref.sum(), rtol=1e-10)


def test_preprocess_logs_skewed_and_aligns_signs():
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.lognormal(0, 1.5, 200), rng.normal(size=200)])
    z, logged = preprocess(x, np.array([1, -1]))
    assert logged == (0,)
    np.testing.assert_allclose(z.std(axis=0, ddof=1), 1.0)
    assert np.corrcoef(z[:, 1], x[:, 1])[0, 1] < -0.99


@pytest.mark.slow
def test_recovers_loadings_tier_means_and_latents():
    from bayesres.config import SamplerSettings
    from bayesres.sampling import fit

    x, tier, xi_true = simulate()
    model = _model(x, tier)
    res = fit(
        model,
        settings=SamplerSettings.make(draws=250, tune=300, chains=2, seed=1),
        key=("test-index-factor-marginal", x.shape),
        gate_vars=["lam", "psi", "rho", "mu_tier"],
    )
    post = res.idata["posterior"]
    lam = post["lam"].values.reshape(-1, 6)
    mu = post["mu_tier"].values.reshape(-1, 3)
    assert res.report.divergences == 0
    # truth inside its central posterior interval, Bonferroni over the 9 quantities (joint 95%)
    q = 0.05 / 9 / 2
    for draws, truth in ((lam, LAM), (mu, MU)):
        lo, hi = np.quantile(draws, [q, 1 - q], axis=0)
        assert np.all((lo < truth) & (truth < hi)), (lo, hi, truth)
    np.testing.assert_allclose(lam.mean(axis=0), LAM, atol=0.15)
    np.testing.assert_allclose(mu.mean(axis=0), MU, atol=0.3)
    # unit latents drawn from their exact conditional track the simulated xi
    xi = latent_draws(
        post,
        x,
        dim_index=DIM_INDEX,
        unit_codes=np.arange(len(tier)),
        n_units=len(tier),
        tier_codes=tier,
        seed=0,
    )
    assert np.corrcoef(xi.mean(axis=(0, 1)), xi_true)[0, 1] > 0.85
