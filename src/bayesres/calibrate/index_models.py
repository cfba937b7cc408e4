"""Calibration adapter for the shipped Bayesian factor index (``bayesres.index.factor``).

``factor_index`` fits ``build_factor_model`` (every latent integrated out) exactly as
``bayesres index --method factor`` builds it for the customs38 indicators design: 38 cities in
the tiers first / new_first / other (4 / 12 / 22), the 20 indicators of the bundled spec in
their four dimensions, one row per city (a cross-section: no period effects, no omega), sampled
with nutpie's low-rank mass matrix as the analysis does.

Preprocessing. The analysis logs skewed columns and z-scores the indicators (``preprocess``)
before the model sees them; the model is a density for the preprocessed matrix. SBC simulates
that matrix from the prior directly and fits it as it is (no second z-scoring, which would
change the data the prior generated), swapping the ``pm.Data`` container ``x`` per simulation
into one compiled model.

Prior simulator, written from the module docstring of ``index/factor.py`` (not from the PyMC
graph, so a mismatch between documented and coded priors fails SBC):

    nu_j ~ N(0, 1); h_j ~ Beta(2, 2); s_j ~ LogNormal(0, 0.25)
    lambda_j = s_j sqrt(h_j); psi_j = s_j sqrt(1 - h_j); rho_d ~ Beta(2, 2)
    mu ~ ZeroSumNormal(1) over tiers; xi_u ~ N(mu_tier(u), 1)
    eta_{u,d} = rho_d xi_u + sqrt(1 - rho_d^2) zeta_{u,d}, zeta ~ N(0, 1)
    x_uj ~ N(nu_j + lambda_j eta_{u,d(j)}, psi_j)

Checked quantities: the loadings lambda and the implied regression-score weights
(``implied_weights``, what the index reports as ``weight[...]``) of the first indicator of each
dimension, the four dimension weights, the tier location mu_tier[first], the latent score xi
of a first-tier and of an other-tier city, and the log-likelihood test quantity (the marginal
density of x with xi and zeta integrated out, computed here with a dense multivariate normal,
not with the model's Woodbury algebra). Posterior draws of xi come from its exact conditional
given each parameter draw (``latent_draws``), as in the analysis, so they are draws from the
joint posterior; the conditional draws are seeded by the data (the same fit, the same ranks).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from bayesres.calibrate.models import CalibrationModel, register

__all__ = [
    "INDEX_DATASET",
    "factor_design",
    "factor_loglik",
    "factor_quantities",
    "factor_simulator",
]

INDEX_DATASET = "customs38"
H_PRIOR, S_PRIOR_SD, RHO_PRIOR, NU_SD, MU_SD = (2.0, 2.0), 0.25, (2.0, 2.0), 1.0, 1.0
SCORE_TIERS = ("first", "other")  # xi is checked for the first city of each of these tiers
VAR_NAMES = ("nu", "h", "s", "lam", "psi", "rho", "mu_tier")


@functools.lru_cache(maxsize=2)
def factor_design(dataset: str = INDEX_DATASET) -> dict[str, Any]:
    """The model inputs of ``fit_factor_index`` for a bundled cross-section (arrays, labels)."""
    import warnings

    from bayesres import datasets
    from bayesres.index import prepare
    from bayesres.index.ewm import arrays_from_table
    from bayesres.index.factor import _codes

    with warnings.catch_warnings():  # DataWarnings (small tiers) belong to the analysis
        warnings.simplefilter("ignore")
        table = prepare(datasets.load(dataset), dataset=dataset)
    a = arrays_from_table(table, panel="pooled")
    if a.times is not None:
        raise NotImplementedError("the factor SBC adapter covers cross-sections only")
    codes = _codes(a)
    dim_index = np.asarray(a.dim_index, dtype=np.int64)
    first_of_dim = [int(np.flatnonzero(dim_index == d)[0]) for d in range(len(a.dimensions))]
    tier_codes = np.asarray(codes["tier_codes"], dtype=np.int64)
    score_units = [
        int(np.flatnonzero(tier_codes == codes["tiers"].index(k))[0]) for k in SCORE_TIERS
    ]
    return {
        "n_units": a.n_units,
        "units": tuple(a.units),
        "unit_codes": np.asarray(a.unit_codes, dtype=np.int64),
        "indicators": tuple(a.indicators),
        "dimensions": tuple(a.dimensions),
        "dim_index": dim_index,
        "tiers": tuple(codes["tiers"]),
        "tier_codes": tier_codes,
        "first_of_dim": first_of_dim,
        "score_units": score_units,
    }


# --------------------------------------------------------------------------- simulator


def factor_simulator(dataset: str = INDEX_DATASET) -> Any:
    def simulate(rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        d = factor_design(dataset)
        m, n_dim, n_tier = len(d["indicators"]), len(d["dimensions"]), len(d["tiers"])
        nu = rng.normal(0.0, NU_SD, m)
        h = rng.beta(*H_PRIOR, m)
        s = rng.lognormal(0.0, S_PRIOR_SD, m)
        lam, psi = s * np.sqrt(h), s * np.sqrt(1.0 - h)
        rho = rng.beta(*RHO_PRIOR, n_dim)
        mu = rng.normal(0.0, MU_SD, n_tier)
        mu = mu - mu.mean()  # ZeroSumNormal(1)
        xi = mu[d["tier_codes"]] + rng.standard_normal(d["n_units"])
        zeta = rng.standard_normal((d["n_units"], n_dim))
        eta = rho[None, :] * xi[:, None] + np.sqrt(1.0 - rho**2)[None, :] * zeta
        x = nu + lam * eta[:, d["dim_index"]] + psi * rng.standard_normal((d["n_units"], m))
        params = {
            "nu": nu,
            "h": h,
            "s": s,
            "lam": lam,
            "psi": psi,
            "rho": rho,
            "mu_tier": mu,
            "xi": xi,
        }
        return params, {"x": x}

    return simulate


# --------------------------------------------------------------------------- quantities


def factor_loglik(
    x: np.ndarray,
    *,
    nu: np.ndarray,
    lam: np.ndarray,
    psi: np.ndarray,
    rho: np.ndarray,
    mu_tier: np.ndarray,
    dim_index: np.ndarray,
    tier_codes: np.ndarray,
) -> np.ndarray:
    """Marginal log density of a cross-section (rows = units), latents integrated out, by a
    dense multivariate normal: x_u ~ N(nu + b mu_tier(u), L Phi L' + diag(psi^2) ) with b_j =
    rho_d(j) lambda_j, Phi_dd' = rho_d rho_d' (1 on the diagonal). Parameters carry one
    optional leading draw axis; returns that shape."""
    nu, lam, psi, rho, mu_tier = (np.asarray(v, float) for v in (nu, lam, psi, rho, mu_tier))
    x = np.asarray(x, float)
    rj = rho[..., dim_index]
    same = dim_index[:, None] == dim_index[None, :]
    phi = np.where(same, 1.0, rj[..., :, None] * rj[..., None, :])
    cov = (
        lam[..., :, None] * phi * lam[..., None, :] + np.eye(lam.shape[-1]) * (psi**2)[..., None, :]
    )
    b = rj * lam
    mean = nu[..., None, :] + mu_tier[..., tier_codes][..., :, None] * b[..., None, :]
    chol = np.linalg.cholesky(cov)
    resid = x - mean  # (..., n, m)
    z = np.linalg.solve(chol, np.swapaxes(resid, -1, -2))  # (..., m, n)
    logdet = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    n, m = x.shape
    return -0.5 * (np.sum(z**2, axis=(-2, -1)) + n * logdet + n * m * np.log(2.0 * np.pi))


class _Var:
    __slots__ = ("values",)

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape


def factor_quantities(dataset: str = INDEX_DATASET) -> Any:
    def quantities(params: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
        from bayesres.index.factor import implied_weights, latent_draws

        d = factor_design(dataset)
        x = np.asarray(data["x"], float)
        p = {k: np.asarray(params[k], float) for k in ("nu", "lam", "psi", "rho", "mu_tier")}
        lead = p["rho"].shape[:-1]
        w = implied_weights(p["lam"], p["psi"], p["rho"], d["dim_index"])
        dim_w = w @ np.eye(len(d["dimensions"]))[d["dim_index"]]
        if "xi" in params:  # truth
            xi = np.asarray(params["xi"], float)
        else:  # one exact conditional draw of xi per posterior draw (the analysis's own)
            n = int(np.prod(lead)) if lead else 1
            shim = {k: _Var(v.reshape((1, n) + v.shape[len(lead) :])) for k, v in p.items()}
            seed = zlib.crc32(np.ascontiguousarray(x).tobytes())
            xi = latent_draws(
                shim,
                x,
                dim_index=d["dim_index"],
                unit_codes=d["unit_codes"],
                n_units=d["n_units"],
                tier_codes=d["tier_codes"],
                seed=seed,
            ).reshape(lead + (d["n_units"],))
        out: dict[str, Any] = {}
        for j in d["first_of_dim"]:
            out[f"lam[{d['indicators'][j]}]"] = p["lam"][..., j]
        for j in d["first_of_dim"]:
            out[f"weight[{d['indicators'][j]}]"] = w[..., j]
        for k, dim in enumerate(d["dimensions"]):
            out[f"dimension_weight[{dim}]"] = dim_w[..., k]
        out[f"mu_tier[{d['tiers'][0]}]"] = p["mu_tier"][..., 0]
        for u in d["score_units"]:
            out[f"xi[{d['units'][u]}]"] = xi[..., u]
        out["loglik"] = factor_loglik(
            x,
            nu=p["nu"],
            lam=p["lam"],
            psi=p["psi"],
            rho=p["rho"],
            mu_tier=p["mu_tier"],
            dim_index=d["dim_index"],
            tier_codes=d["tier_codes"][d["unit_codes"]],
        )
        return out

    return quantities


# --------------------------------------------------------------------------- adapter


def _builder(dataset: str) -> Any:
    def build() -> Any:
        from bayesres.index.factor import build_factor_model

        d = factor_design(dataset)
        x0 = np.zeros((d["n_units"], len(d["indicators"])))
        return build_factor_model(
            x0,
            indicators=d["indicators"],
            dimensions=d["dimensions"],
            dim_index=d["dim_index"],
            unit_codes=d["unit_codes"],
            units=d["units"],
            tier_codes=d["tier_codes"],
            tiers=d["tiers"],
        )

    return build


register(
    CalibrationModel(
        name="factor_index",
        description="shipped Bayesian factor index (index.factor, latents integrated out, "
        "low-rank mass matrix) on the customs38 indicators design (38 cities, 20 indicators, "
        "4 dimensions, tiers 4/12/22)",
        build=_builder(INDEX_DATASET),
        simulate=factor_simulator(INDEX_DATASET),
        quantities=factor_quantities(INDEX_DATASET),
        var_names=VAR_NAMES,
        adaptation="low_rank",
    )
)
