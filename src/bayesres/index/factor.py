"""Hierarchical latent-factor (measurement) index, methods.md section 1.2 B.

Indicators nested in dimensions, units nested in tiers. Preprocessing (:func:`preprocess`):
log-transform strictly positive, right-skewed indicators (sample skewness > 1), sign-align
(negatives times -1), z-score over all rows. Model, rows r (units, or unit-years in a panel):

    x_rj ~ N(nu_j + lambda_j eta_{r,d(j)}, psi_j)
    eta_{r,d} = rho_d xi_r + sqrt(1 - rho_d^2) zeta_{r,d},  zeta ~ N(0, 1)
    xi_u = mu_tier(u) + z_u,  z_u ~ N(0, 1)                (Var(xi | tier) = 1 fixes the scale)
    panel: xi_r = xi_u(r) + kappa_t(r) + sigma_omega omega_r,  kappa ~ ZeroSumNormal(1)
    lambda ~ HalfNormal(1), rho ~ Beta(2, 2) (positivity fixes the reflection), nu ~ N(0, 1),
    psi ~ HalfNormal(1), mu ~ ZeroSumNormal(1) over tiers (location), sigma_omega ~ HalfNormal(0.5).

zeta is integrated out analytically: given xi, the indicators of dimension d in row r are
multivariate normal with covariance (1 - rho_d^2) lambda lambda' + diag(psi^2) (a ``pm.Potential``
evaluated by Woodbury, no Cholesky). That removes rows x dimensions latent variables and the
funnel between them and lambda.

Implied weights per draw: Sigma = L Phi L' + diag(psi^2) with Phi_dd' = rho_d rho_d' (1 on the
diagonal), c = Sigma^-1 Cov(xi, x) with Cov(xi, x_j) = rho_d(j) lambda_j (Thomson regression-score
weights), w = c / sum(c), applied to the min-max z' so that scores stay on the paper's scale; ranks
are read off the latent score xi of each unit. A factor model weights covariation, not dispersion:
this is a different index, not a Bayesian EWM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bayesres.config import SamplerSettings
from bayesres.diagnostics import GateReport
from bayesres.index.bootstrap import IndexDraws
from bayesres.index.ewm import EntropyIndex, IndexArrays

__all__ = ["FactorFit", "preprocess", "build_factor_model", "implied_weights", "fit_factor_index"]

SKEW_LOG = 1.0
GATE_VARS = ["nu", "lam", "psi", "rho", "mu_tier", "sigma_omega", "kappa"]


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
    """The PyMC model (pure: no sampling). ``x`` is the preprocessed rows x m matrix."""
    import pymc as pm
    import pytensor.tensor as pt

    n_rows = x.shape[0]
    coords: dict = {
        "indicator": list(indicators),
        "dimension": list(dimensions),
        "unit": list(units),
        "row": np.arange(n_rows),
    }
    cols_of = [np.flatnonzero(dim_index == d) for d in range(len(dimensions))]
    for d, cols in zip(dimensions, cols_of, strict=True):
        coords[f"indicator_{d}"] = [indicators[j] for j in cols]
    with pm.Model(coords=coords) as model:
        nu = pm.Normal("nu", 0.0, 1.0, dims="indicator")
        lam = pm.HalfNormal("lam", 1.0, dims="indicator")
        psi = pm.HalfNormal("psi", 1.0, dims="indicator")
        rho = pm.Beta("rho", 2.0, 2.0, dims="dimension")
        z = pm.Normal("z", 0.0, 1.0, dims="unit")
        if tier_codes is not None and len(tiers) > 1:
            model.add_coord("tier", list(tiers))
            mu = pm.ZeroSumNormal("mu_tier", sigma=1.0, dims="tier")
            xi_u = pm.Deterministic("xi", mu[np.asarray(tier_codes)] + z, dims="unit")
        else:
            xi_u = pm.Deterministic("xi", z, dims="unit")
        xi_r = xi_u[np.asarray(unit_codes)]
        if time_codes is not None:
            model.add_coord("time", list(times))
            kappa = pm.ZeroSumNormal("kappa", sigma=1.0, dims="time")
            s_om = pm.HalfNormal("sigma_omega", 0.5)
            om = pm.Normal("omega", 0.0, 1.0, dims="row")
            xi_r = xi_r + kappa[np.asarray(time_codes)] + s_om * om
        for d, (name, cols) in enumerate(zip(dimensions, cols_of, strict=True)):
            obs = pm.Data(f"x_{name}", x[:, cols], dims=("row", f"indicator_{name}"))
            resid = obs - nu[cols][None, :] - (rho[d] * xi_r)[:, None] * lam[cols][None, :]
            pm.Potential(
                f"loglik_{name}",
                _rank_one_mvn_logp(resid, pt.sqrt(1.0 - rho[d] ** 2) * lam[cols], psi[cols]),
            )
    return model


def _rank_one_mvn_logp(resid, a, psi):
    """Sum over rows of log N(resid | 0, diag(psi^2) + a a'), by Woodbury and the determinant lemma.

    Elementwise algebra only (no Cholesky), which keeps the compile short.
    """
    import pytensor.tensor as pt

    dinv = 1.0 / psi**2
    s = 1.0 + pt.sum(a**2 * dinv)
    proj = pt.sum(resid * (a * dinv)[None, :], axis=1)
    quad = pt.sum(resid**2 * dinv[None, :], axis=1) - proj**2 / s
    logdet = pt.sum(pt.log(psi**2)) + pt.log(s)
    k = resid.shape[1]
    return -0.5 * pt.sum(quad) - 0.5 * resid.shape[0] * (logdet + k * np.log(2 * np.pi))


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
    """Build, sample (bayesres.sampling.fit) and turn the posterior into index draws."""
    from bayesres.sampling import fit

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

    def _derived(idata) -> dict[str, np.ndarray]:
        p = idata["posterior"]
        w = implied_weights(p["lam"].values, p["psi"].values, p["rho"].values, a.dim_index)
        return {f"factor_weight[{i}]": w[..., j] for j, i in enumerate(a.indicators)}

    key = (
        "index-factor",
        x.shape,
        tuple(a.dim_index),
        len(codes["tiers"]),
        len(codes["times"]),
    )
    gate = [v for v in GATE_VARS if v in model.named_vars]
    res = fit(model, settings=settings, key=key, gate_vars=gate, derived=_derived)
    post = res.idata["posterior"]
    lam = post["lam"].values.reshape(-1, len(a.indicators))
    psi = post["psi"].values.reshape(-1, len(a.indicators))
    rho = post["rho"].values.reshape(-1, len(a.dimensions))
    w = implied_weights(lam, psi, rho, a.dim_index)
    w = np.repeat(w[:, None, :], a.n_groups, axis=1)
    xi = post["xi"].values.reshape(-1, a.n_units)
    draws = IndexDraws(w, "hierarchical factor model", unit_latent=xi)
    return FactorFit(
        draws=draws,
        report=res.report,
        idata=res.idata,
        seconds=dict(res.seconds),
        log_columns=tuple(a.indicators[j] for j in logged),
    )
