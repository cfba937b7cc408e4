"""Hierarchical latent-factor (measurement) index, methods.md section 1.2 B.

Indicators nested in dimensions, units nested in tiers. Preprocessing (:func:`preprocess`):
log-transform strictly positive, right-skewed indicators (sample skewness > 1), sign-align
(negatives times -1), z-score over all rows. Model, rows r (units, or unit-years in a panel):

    x_rj ~ N(nu_j + lambda_j eta_{r,d(j)}, psi_j)
    eta_{r,d} = rho_d xi_r + sqrt(1 - rho_d^2) zeta_{r,d},  zeta ~ N(0, 1)
    xi_u ~ N(mu_tier(u), 1)                                 (Var(xi | tier) = 1 fixes the scale)
    panel: xi_r = xi_u(r) + kappa_t(r) + omega_r,  omega ~ N(0, sigma_omega),
           kappa ~ ZeroSumNormal(1) over periods            (methods.md: xi_it = xi_i + kappa_t + omega_it)
    lambda_j = s_j sqrt(h_j),  psi_j = s_j sqrt(1 - h_j),   h ~ Beta(2, 2), s ~ LogNormal(0, 0.25)
    rho ~ Beta(2, 2) (lambda, rho > 0 fix the reflection), nu ~ N(0, 1),
    mu ~ ZeroSumNormal(1) over tiers (location), sigma_omega ~ HalfNormal(0.5).

Every latent is integrated out analytically (zeta, omega and xi). Given the parameters, the m
indicators of one row have covariance B = A + sigma_omega^2 b b' with b_j = rho_d(j) lambda_j and
A = diag(psi^2) + blockdiag_d((1 - rho_d^2) lambda_d lambda_d'); the T_i rows of unit i share xi_i,
which adds the rank-one term (1_T 1_T') (x) b b'. Woodbury per dimension block, then
Sherman-Morrison twice (omega, then xi) give the exact log density with elementwise algebra,
a few small dot products and one segment sum over units: no Cholesky, no latent per row. The
unit scores xi_i are drawn afterwards, per posterior draw, from their exact Gaussian conditional
N(mu_tier + G_i / (1 + T_i q_B), 1 / (1 + T_i q_B)) (:func:`latent_draws`), so the posterior
holds ``xi`` as before. The panel is the full city-year model (every unit-year row), not a
model of unit means.

Measured, 4 chains x 1000 draws (tune 1000), nutpie, 2 shared cores (load 6-16, so walls are
rough); gates on the parameters, the implied weights, the dimension weights and xi:

* customs38, before (only zeta integrated out, xi sampled; lambda, psi ~ HalfNormal(1)), the
  colleague's run: 61 s wall, R-hat 1.076, bulk ESS 45 (factor_weight[soot]), tail ESS 22
  (psi[waste_treatment]).
* step 1, xi integrated out too (same priors): compile 190 s cold / 46 s warm, sampling 11 s,
  0 divergences, R-hat 1.0098 (weight so2), bulk ESS 353 and tail ESS 163 (psi[sewage_treatment]): what is left is a Heywood funnel, psi_j -> 0 with lambda_j
  absorbing the variance of one ecological indicator.
* step 2, communality parameterisation above (the data are z-scored, so lambda^2 + psi^2 = s^2
  ~ 1 and h is the share of an indicator's variance the factors explain; Beta(2, 2) keeps h off
  0 and 1, which removes the Heywood funnel): see the results table at the end of this docstring.
* ecommerce_panel, before: not finished after 25 minutes (2480 row latents x 3 dimensions, plus
  2480 omega); after: see the table.

Results (seed 0, gates on parameters + implied weights + dimension weights + xi; wall times on
2 cores shared with other jobs, load average 10-16, so CPU time is far below wall):

    dataset, adaptation           compile  sample  div  R-hat (worst)          bulk / tail ESS (worst)
    customs38, diag (step 2)      197 s    28 s    0    1.0039 psi[budget_exp]  1643 nu / 2344 lam
    customs38, low_rank           197 s    14 s    0    1.0049 s[internet_u.]   3755 xi / 2486 lam
    ecommerce_panel, diag *       105 s    296 s   0    1.048 lam[income]       120 / 236 (lam): fails
    ecommerce_panel, low_rank     190 s    283 s   0    1.0064 nu[retail]       3604 / 1958 sigma_omega

(* prototype of this same model, gates without xi; the panel low_rank row ran beside another
fit, so its sampling wall is inflated.)

In the panel every rho is ~0.97 (the dimensions barely differ), so all loadings move together
with the general factor: a dense posterior that the diagonal mass matrix mixes badly (R-hat
1.048) and nutpie's low-rank adaptation handles (R-hat 1.006); ``bayesres index --method factor``
therefore runs with ``adaptation="low_rank"`` (src/bayesres/index/__init__.py). customs38 end
to end through ``bayesres.index.run`` (defaults, low_rank): 220 s wall, 89 s CPU, E-BFMI 0.94;
ecommerce_panel end to end: 254 s wall, 118 s CPU (compile 89 s warm, sampling 148 s), same
draws and gates as the table row (R-hat 1.0064, ESS 3604 / 1958, E-BFMI 0.96). Compile
times are numbers on the loaded machine (numba; the warm-cache compile of the cross-section
graph measured 46 s at load 15).

Implied weights per draw: Sigma = L Phi L' + diag(psi^2) with Phi_dd' = rho_d rho_d' (1 on the
diagonal), c = Sigma^-1 Cov(xi, x) with Cov(xi, x_j) = rho_d(j) lambda_j (Thomson regression-score
weights), w = c / sum(c), applied to the min-max z' so that scores stay on the paper's scale; ranks
are read off the latent score xi of each unit. In a panel the row-level omega only rescales
Sigma^-1 b (Sherman-Morrison), so the normalised weights are the same. A factor model weights
covariation, not dispersion: this is a different index, not a Bayesian EWM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayesres.config import SamplerSettings
from bayesres.diagnostics import GateReport
from bayesres.index.bootstrap import IndexDraws
from bayesres.index.ewm import EntropyIndex, IndexArrays

__all__ = [
    "FactorFit",
    "preprocess",
    "build_factor_model",
    "implied_weights",
    "latent_draws",
    "fit_factor_index",
]

SKEW_LOG = 1.0
H_PRIOR = (2.0, 2.0)  # Beta prior of the communality h_j
S_PRIOR_SD = 0.25  # LogNormal(0, .) prior of the indicator scale s_j (data are z-scored)
GATE_VARS = ["nu", "h", "s", "lam", "psi", "rho", "mu_tier", "sigma_omega", "kappa"]
_CHUNK = 500


def preprocess(x: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """Log skewed positive columns, sign-align, z-score: returns (rows x m, logged column ids)."""
    from scipy.stats import skew

    x = np.asarray(x, dtype=float).copy()
    logged = []
    for j in range(x.shape[1]):
        if np.all(x[:, j] > 0) and skew(x[:, j]) > SKEW_LOG:
            x[:, j] = np.log(x[:, j])
            logged.append(j)
    x = x * np.asarray(directions, dtype=float)
    x = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    return x, tuple(logged)


def _onehot(codes: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((len(codes), n))
    out[np.arange(len(codes)), codes] = 1.0
    return out


def build_factor_model(
    x: np.ndarray,
    *,
    indicators: tuple[str, ...],
    dimensions: tuple[str, ...],
    dim_index: np.ndarray,
    unit_codes: np.ndarray,
    units: tuple[str, ...],
    tier_codes: np.ndarray | None = None,
    tiers: tuple[str, ...] = (),
    time_codes: np.ndarray | None = None,
    times: tuple[str, ...] = (),
):
    """The PyMC model (pure: no sampling). ``x`` is the preprocessed rows x m matrix.

    ``tier_codes`` is per unit, ``unit_codes`` and ``time_codes`` per row. The likelihood is the
    exact marginal density of the rows (one ``pm.Potential`` named ``loglik``); ``xi`` is not a
    model variable (see :func:`latent_draws`).
    """
    import pymc as pm
    import pytensor.tensor as pt

    n_rows, m = x.shape
    dim_index = np.asarray(dim_index)
    unit_codes = np.asarray(unit_codes)
    n_units = len(units)
    onehot_dim = _onehot(dim_index, len(dimensions))  # m x D
    t_unit = np.bincount(unit_codes, minlength=n_units).astype(float)
    coords: dict = {"indicator": list(indicators), "dimension": list(dimensions)}
    with pm.Model(coords=coords) as model:
        obs = pm.Data("x", np.asarray(x, dtype=float))
        nu = pm.Normal("nu", 0.0, 1.0, dims="indicator")
        h = pm.Beta("h", *H_PRIOR, dims="indicator")
        s = pm.LogNormal("s", 0.0, S_PRIOR_SD, dims="indicator")
        lam = pm.Deterministic("lam", s * pt.sqrt(h), dims="indicator")
        pm.Deterministic("psi", s * pt.sqrt(1.0 - h), dims="indicator")
        rho = pm.Beta("rho", 2.0, 2.0, dims="dimension")
        loc = None
        if tier_codes is not None and len(tiers) > 1:
            model.add_coord("tier", list(tiers))
            mu = pm.ZeroSumNormal("mu_tier", sigma=1.0, dims="tier")
            loc = mu[np.asarray(tier_codes)[unit_codes]]
        s2 = None
        if time_codes is not None:
            model.add_coord("time", list(times))
            kappa = pm.ZeroSumNormal("kappa", sigma=1.0, dims="time")
            s_om = pm.HalfNormal("sigma_omega", 0.5)
            k_r = kappa[np.asarray(time_codes)]
            loc = k_r if loc is None else loc + k_r
            s2 = s_om**2
        # A = diag(psi^2) + blockdiag((1 - rho^2) lam lam'): Woodbury per dimension block
        dinv = 1.0 / (s**2 * (1.0 - h))
        rj = rho[dim_index]
        a = pt.sqrt(1.0 - rj**2) * lam
        b = rj * lam
        sa = pt.dot(a**2 * dinv, onehot_dim)  # a_d' Psi^-1 a_d
        ab = pt.dot(a * b * dinv, onehot_dim)  # a_d' Psi^-1 b_d
        q = pt.sum(b**2 * dinv) - pt.sum(ab**2 / (1.0 + sa))  # b' A^-1 b
        logdet_a = pt.sum(pt.log(s**2 * (1.0 - h))) + pt.sum(pt.log1p(sa))
        resid = obs - nu[None, :]
        if loc is not None:
            resid = resid - loc[:, None] * b[None, :]
        p = resid * dinv[None, :]
        pa = pt.dot(p * a[None, :], onehot_dim)  # rows x D
        quad = pt.sum(resid * p, axis=1) - pt.sum(pa**2 / (1.0 + sa)[None, :], axis=1)
        g = pt.dot(p, b) - pt.dot(pa, ab / (1.0 + sa))  # b' A^-1 resid_r
        if s2 is not None:  # B = A + s2 b b' (omega), Sherman-Morrison
            c = 1.0 + s2 * q
            quad = quad - s2 * g**2 / c
            g = g / c
            q = q / c
            logdet_a = logdet_a + pt.log(c)
        # rows of one unit share xi_u: the rank-one term (1 1') (x) b b', Sherman-Morrison again
        if n_units == n_rows and np.array_equal(unit_codes, np.arange(n_rows)):
            big_g = g
        else:
            big_g = pt.zeros(n_units)[unit_codes].inc(g)
        loglik = -0.5 * (
            pt.sum(quad)
            - pt.sum(big_g**2 / (1.0 + t_unit * q))
            + n_rows * logdet_a
            + pt.sum(pt.log1p(t_unit * q))
            + n_rows * m * np.log(2.0 * np.pi)
        )
        pm.Potential("loglik", loglik)
    return model


def _post(post, name: str, n: int, k: int) -> np.ndarray:
    return post[name].values.reshape(n, k) if name in post else np.zeros((n, k))


def latent_draws(
    post,
    x: np.ndarray,
    *,
    dim_index: np.ndarray,
    unit_codes: np.ndarray,
    n_units: int,
    tier_codes: np.ndarray | None = None,
    time_codes: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Exact draws of the unit latent xi (chain, draw, unit), one per posterior draw.

    Given the parameters, xi_u | x ~ N(mu_tier(u) + G_u / (1 + T_u q_B), 1 / (1 + T_u q_B)) with
    q_B = b' B^-1 b and G_u = sum over the unit's rows of b' B^-1 (x_r - nu - b loc_r), B the
    row covariance without xi (see the module docstring).
    """
    chains, draws = post["nu"].shape[:2]
    n = chains * draws
    m = x.shape[1]
    dim_index = np.asarray(dim_index)
    unit_codes = np.asarray(unit_codes)
    n_dim = int(dim_index.max()) + 1
    oh = _onehot(dim_index, n_dim)
    lam, psi = _post(post, "lam", n, m), _post(post, "psi", n, m)
    nu, rho = _post(post, "nu", n, m), _post(post, "rho", n, n_dim)
    s2 = post["sigma_omega"].values.reshape(n) ** 2 if "sigma_omega" in post else np.zeros(n)
    loc = np.zeros((n, x.shape[0]))
    mu_u = np.zeros((n, n_units))
    if tier_codes is not None and "mu_tier" in post:
        mu = post["mu_tier"].values.reshape(n, -1)
        mu_u = mu[:, np.asarray(tier_codes)]
        loc = loc + mu_u[:, unit_codes]
    if time_codes is not None and "kappa" in post:
        loc = loc + post["kappa"].values.reshape(n, -1)[:, np.asarray(time_codes)]
    dinv = 1.0 / psi**2
    rj = rho[:, dim_index]
    a, b = np.sqrt(1.0 - rj**2) * lam, rj * lam
    sa, ab = (a**2 * dinv) @ oh, (a * b * dinv) @ oh
    w_a = dinv * b - dinv * a * (ab / (1.0 + sa))[:, dim_index]  # A^-1 b
    q = np.sum(b * w_a, axis=1)
    c = 1.0 + s2 * q
    q_b = q / c
    t_unit = np.bincount(unit_codes, minlength=n_units).astype(float)
    rng = np.random.default_rng(seed)
    xi = np.empty((n, n_units))
    agg = _onehot(unit_codes, n_units)  # rows x units
    for lo in range(0, n, _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        g = x @ w_a[sl].T - np.sum(nu[sl] * w_a[sl], axis=1) - (loc[sl] * q[sl, None]).T
        big_g = (agg.T @ g).T / c[sl, None]  # (chunk, units)
        prec = 1.0 + t_unit[None, :] * q_b[sl, None]
        xi[sl] = mu_u[sl] + big_g / prec + rng.standard_normal(big_g.shape) / np.sqrt(prec)
    return xi.reshape(chains, draws, n_units)


def implied_weights(
    lam: np.ndarray, psi: np.ndarray, rho: np.ndarray, dim_index: np.ndarray
) -> np.ndarray:
    """Regression-score weights (..., m) normalised to sum 1, from draws of lam, psi (..., m), rho (..., D)."""
    lam, psi, rho = (np.asarray(v, dtype=float) for v in (lam, psi, rho))
    rj = rho[..., dim_index]  # (..., m)
    same = dim_index[:, None] == dim_index[None, :]
    phi = np.where(same, 1.0, rj[..., :, None] * rj[..., None, :])
    sigma = lam[..., :, None] * phi * lam[..., None, :]
    m = lam.shape[-1]
    sigma = sigma + np.eye(m) * (psi**2)[..., None, :]
    cov = rj * lam
    c = np.linalg.solve(sigma, cov[..., None])[..., 0]
    return c / c.sum(axis=-1, keepdims=True)


@dataclass
class FactorFit:
    draws: IndexDraws
    report: GateReport
    idata: object
    seconds: dict = field(default_factory=dict)
    log_columns: tuple[str, ...] = ()


def _codes(a: IndexArrays) -> dict:
    out: dict = {"tier_codes": None, "tiers": (), "time_codes": None, "times": ()}
    if a.tier_of_unit is not None:
        levels = a.tiers or tuple(dict.fromkeys(a.tier_of_unit))
        out["tier_codes"] = np.array([levels.index(t) for t in a.tier_of_unit])
        out["tiers"] = levels
    if a.times is not None:
        out["time_codes"] = np.searchsorted(np.asarray(a.time_levels), a.times)
        out["times"] = tuple(str(t) for t in a.time_levels)
    return out


def fit_factor_index(exact: EntropyIndex, *, settings: SamplerSettings) -> FactorFit:
    """Build, sample (bayesres.sampling.fit) and turn the posterior into index draws.

    The gates cover the parameters and the reported derived quantities: the implied indicator
    weights, the dimension weights and the unit latent xi that the ranks are read from.
    """
    import time

    import xarray as xr

    from bayesres.sampling import fit

    t_start = time.perf_counter()
    a = exact.arrays
    x, logged = preprocess(a.x, a.directions)
    codes = _codes(a)
    model = build_factor_model(
        x,
        indicators=a.indicators,
        dimensions=a.dimensions,
        dim_index=a.dim_index,
        unit_codes=a.unit_codes,
        units=a.units,
        **codes,
    )
    has_tiers = len(codes["tiers"]) > 1
    onehot_dim = _onehot(np.asarray(a.dim_index), len(a.dimensions))
    latent: dict = {}

    def _derived(idata) -> dict[str, np.ndarray]:
        p = idata["posterior"]
        w = implied_weights(p["lam"].values, p["psi"].values, p["rho"].values, a.dim_index)
        xi = latent_draws(
            p,
            x,
            dim_index=a.dim_index,
            unit_codes=a.unit_codes,
            n_units=a.n_units,
            tier_codes=codes["tier_codes"] if has_tiers else None,
            time_codes=codes["time_codes"],
            seed=settings.seed,
        )
        latent["xi"], latent["w"] = xi, w
        out = {f"factor_weight[{i}]": w[..., j] for j, i in enumerate(a.indicators)}
        dw = w @ onehot_dim
        out.update({f"dimension_weight[{d}]": dw[..., k] for k, d in enumerate(a.dimensions)})
        out.update({f"xi[{u}]": xi[..., k] for k, u in enumerate(a.units)})
        return out

    key = (
        "index-factor-marginal",
        x.shape,
        tuple(a.dim_index),
        len(codes["tiers"]),
        len(codes["times"]),
        a.n_units,
    )
    gate = [v for v in GATE_VARS if v in model.named_vars]
    res = fit(model, settings=settings, key=key, gate_vars=gate, derived=_derived)
    post = res.idata["posterior"]
    xi_arr = latent["xi"]
    post_ds = post.to_dataset() if hasattr(post, "to_dataset") else post
    res.idata["posterior"] = post_ds.assign(
        xi=xr.DataArray(
            xi_arr,
            dims=("chain", "draw", "unit"),
            coords={"chain": post_ds["chain"], "draw": post_ds["draw"], "unit": list(a.units)},
        )
    )
    n = xi_arr.shape[0] * xi_arr.shape[1]
    w = latent["w"].reshape(n, len(a.indicators))
    w = np.repeat(w[:, None, :], a.n_groups, axis=1)
    draws = IndexDraws(w, "hierarchical factor model", unit_latent=xi_arr.reshape(n, a.n_units))
    seconds = dict(res.seconds)
    seconds["total"] = time.perf_counter() - t_start
    return FactorFit(
        draws=draws,
        report=res.report,
        idata=res.idata,
        seconds=seconds,
        log_columns=tuple(a.indicators[j] for j in logged),
    )
