"""Calibration adapters for the shipped tier regression models (``bayesres.regression.bayes``).

The SBC adapters wrap ``build_model`` exactly as the analysis builds it (pooled / no-pool /
hierarchical non-centred x Normal / Student-t) on the customs38 coverage design (tier sizes
4 / 12 / 22, x and one control c drawn once from seed 0 and standardised as
``regression.bayes.prepare`` does: x centred within tiers by default, ``centre = "tier"``, or at
the overall mean with ``centre = "global"``; the pooled model always centres globally). The
checked quantities are the analysis's own reported draws (``raw_draws``: slope[k],
slope_diff[k-k'], intercept[k], slope_mean, tau_slope, tau_intercept, coef[c], sigma, nu) plus
the log-likelihood test quantity from the shipped ``pointwise_loglik``, so SBC checks what the
regression command prints.

Prior simulator. The shipped priors are scaled by y_loc = mean(y) and s = y_scale = sd(y) of the
data (rstanarm-style, ``Priors`` multipliers), which enter the model through the ``pm.Data``
vector ``scales``. A prior that depends on the data it is checked on cannot be simulated from,
so SBC fixes y_loc = 0, s = 1 in ``scales`` (standardised outcome units; with x and c fixed the
model is scale-equivariant, so the rank distributions do not depend on this choice) and swaps
only ``y_obs``. The simulator is written from the module docstring of ``regression/bayes.py``
(not from the PyMC graph), so a mismatch between documented and coded priors shows up as a
failed SBC; it uses the same centred x as the model (``TierData.x_for``):

    a, a0, a_k ~ N(y_loc, 2.5 s);  b, b0, b_k, gamma ~ N(0, 1 s);  tau_a, tau_b ~ HalfNormal(0.5 s)
    z_a, z_b ~ N(0, 1);  sigma ~ Exponential(rate 1 / s);  nu ~ Gamma(2, rate 0.1)

Coverage (``coverage_fit``): the same models fitted through ``fit_variant`` (the analysis's own
path: data-scaled priors, divergence retry ladder), y_loc / y_scale recomputed from each
replication's y like the analysis does, x centred as ``centre`` says.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from bayesres.calibrate.models import CalibrationModel, register

__all__ = [
    "SBC_PRIOR_LOC",
    "SBC_PRIOR_SCALE",
    "design_tier_data",
    "tier_quantities",
    "tier_simulator",
    "regression_calibration_model",
]

SBC_PRIOR_LOC, SBC_PRIOR_SCALE = 0.0, 1.0
SHORT = {"pooled": "pooled", "nopool": "nopool", "hierarchical": "hier"}


@functools.lru_cache(maxsize=8)
def _design(dataset: str = "customs38", seed: int = 0) -> Any:
    from bayesres.calibrate.coverage import coverage_design

    return coverage_design(dataset, seed=seed)


def design_tier_data(
    y: np.ndarray | None = None, *, design: Any = None, centre: str = "tier"
) -> Any:
    """``TierData`` of the coverage design, standardised like ``regression.bayes.prepare``.

    With ``y`` given, y_loc / y_scale are its mean / sd (the analysis); without, the SBC's fixed
    prior location and scale (0, 1) and a zero outcome placeholder. ``centre``: "tier" (x centred
    at each tier's mean, the analysis default) or "global".
    """
    from bayesres.regression.bayes import TierData, check_centre

    check_centre(centre)
    d = _design() if design is None else design
    x = np.array(d.x, dtype=float, copy=True)  # fresh aligned copies (Dask-unpickled arrays)
    c = np.array(d.c, dtype=float, copy=True)[:, None]
    c_loc, c_scale = c.mean(axis=0), c.std(axis=0, ddof=1)
    if y is None:
        yv, y_loc, y_scale = np.zeros(len(x)), SBC_PRIOR_LOC, SBC_PRIOR_SCALE
    else:
        yv = np.array(y, dtype=float, copy=True)
        y_loc, y_scale = float(yv.mean()), float(yv.std(ddof=1))
    tier = np.array(d.tier_idx, dtype=np.int64, copy=True)
    if centre == "tier":
        tier_loc = np.array([x[tier == k].mean() for k in range(len(d.tiers))])
    else:
        tier_loc = np.full(len(d.tiers), x.mean())
    return TierData(
        y=yv,
        x=(x - tier_loc[tier]) / x.std(ddof=1),
        c=(c - c_loc) / c_scale,
        tier=tier,
        tiers=tuple(d.tiers),
        controls=("c",),
        x_loc=float(x.mean()),
        x_scale=float(x.std(ddof=1)),
        c_loc=c_loc,
        c_scale=c_scale,
        y_loc=y_loc,
        y_scale=y_scale,
        centre=centre,
        x_tier_loc=tier_loc,
    )


def _var_names(variant: str, likelihood: str) -> tuple[str, ...]:
    core = {
        "pooled": ("a", "b"),
        "nopool": ("a", "b"),
        "hierarchical": ("a0", "b0", "tau_a", "tau_b", "z_a", "z_b", "a", "b"),
    }[variant]
    return core + ("gamma", "sigma") + (("nu",) if likelihood == "student" else ())


def tier_simulator(variant: str, likelihood: str, *, priors: Any = None) -> Any:
    """Prior simulator of the shipped model (documented priors, SBC location / scale)."""
    from bayesres.regression.bayes import Priors

    pr = Priors() if priors is None else priors

    def simulate(rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        td = design_tier_data()
        s, loc, k, p = SBC_PRIOR_SCALE, SBC_PRIOR_LOC, len(td.tiers), td.c.shape[1]
        out: dict[str, np.ndarray] = {}
        if variant == "pooled":
            out["a"] = np.asarray(rng.normal(loc, pr.intercept * s))
            out["b"] = np.asarray(rng.normal(0.0, pr.slope * s))
            mu = out["a"] + out["b"] * td.x_for("pooled")
        else:
            if variant == "nopool":
                out["a"] = rng.normal(loc, pr.intercept * s, k)
                out["b"] = rng.normal(0.0, pr.slope * s, k)
            else:
                out["a0"] = np.asarray(rng.normal(loc, pr.intercept * s))
                out["b0"] = np.asarray(rng.normal(0.0, pr.slope * s))
                out["tau_a"] = np.asarray(abs(rng.normal(0.0, pr.group_sd * s)))
                out["tau_b"] = np.asarray(abs(rng.normal(0.0, pr.group_sd * s)))
                out["z_a"], out["z_b"] = rng.standard_normal(k), rng.standard_normal(k)
                out["a"] = out["a0"] + out["tau_a"] * out["z_a"]
                out["b"] = out["b0"] + out["tau_b"] * out["z_b"]
            mu = out["a"][td.tier] + out["b"][td.tier] * td.x
        out["gamma"] = rng.normal(0.0, pr.slope * s, p)
        out["sigma"] = np.asarray(rng.exponential(pr.sigma * s))  # rate 1 / (prior_sigma s)
        mu = mu + td.c @ out["gamma"]
        if likelihood == "student":
            out["nu"] = np.asarray(rng.gamma(2.0, 1.0 / 0.1))
            y = mu + out["sigma"] * rng.standard_t(float(out["nu"]), td.n)
        else:
            y = rng.normal(mu, out["sigma"])
        return out, {"y_obs": y}

    return simulate


class _Var:
    __slots__ = ("values",)

    def __init__(self, values: np.ndarray) -> None:
        self.values = values


def tier_quantities(params: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The analysis's reported draws (``raw_draws``) plus ``loglik``, for truth or draws.

    ``params`` hold scalars/arrays (truth) or arrays with one leading draw axis (posterior); they
    are put on the (chain, draw) layout ``raw_draws`` / ``pointwise_loglik`` expect, with a
    single chain, and the results are returned with the leading shape of the input.
    """
    from bayesres.regression.bayes import pointwise_loglik, raw_draws

    lead = np.shape(params["sigma"])  # sigma is a scalar parameter in every variant
    m = int(np.prod(lead)) if lead else 1
    post = {}
    for name, v in params.items():
        arr = np.asarray(v, float)
        post[name] = _Var(arr.reshape((1, m) + arr.shape[len(lead) :]))
    shim = {"posterior": post}
    td = replace(design_tier_data(), y=np.asarray(data["y_obs"], float))
    out = {k: v.reshape(lead) for k, v in raw_draws(shim, td).items()}
    out["loglik"] = pointwise_loglik(shim, td).sum(axis=-1).reshape(lead)
    return out


def _builder(variant: str, likelihood: str) -> Any:
    def build() -> Any:
        from bayesres.regression.bayes import build_model

        return build_model(design_tier_data(), variant=variant, likelihood=likelihood)

    return build


def regression_calibration_model(variant: str, likelihood: str) -> CalibrationModel:
    name = f"regression_{SHORT[variant]}_{likelihood}"
    return CalibrationModel(
        name=name,
        description=f"shipped tier regression ({variant}, {likelihood}; regression.bayes."
        "build_model) on the customs38 design 4/12/22, priors at y_loc 0, y_scale 1",
        build=_builder(variant, likelihood),
        simulate=tier_simulator(variant, likelihood),
        quantities=tier_quantities,
        var_names=_var_names(variant, likelihood),
        key=f"calibrate:{name}:{_design().digest}",
    )


for _v in ("hierarchical", "pooled", "nopool"):
    for _lik in ("normal", "student"):
        register(regression_calibration_model(_v, _lik))


# --------------------------------------------------------------------------- coverage

COVERAGE_VARIANTS = {
    "bayes-pooled": ("pooled", "normal"),
    "bayes-pooled-t": ("pooled", "student"),
    "bayes-nopool": ("nopool", "normal"),
    "bayes-hier-normal": ("hierarchical", "normal"),
    "bayes-hier-t": ("hierarchical", "student"),
}
_MODELS: dict[Any, Any] = {}


def coverage_fit(
    y: np.ndarray, design: Any, *, method: str, settings: Any, centre: str = "tier"
) -> tuple[dict[str, np.ndarray], Any]:
    """Fit a shipped variant to one replication: ({quantity: flat draws}, FitResult).

    Quantities: slope[k] and slope_diff[k-reference] on the raw scale (the pooled model's one
    slope is every tier's slope and its contrasts are exactly 0). ``centre``: the centring of x
    in the no-pool / hierarchical variants (the pooled one centres globally either way).
    """
    from bayesres.regression.bayes import build_model, fit_variant, raw_draws

    variant, likelihood = COVERAGE_VARIANTS[method]
    td = design_tier_data(y, design=design, centre=centre)
    key = (variant, likelihood, design.digest, td.centre)
    if key not in _MODELS:
        _MODELS[key] = build_model(td, variant=variant, likelihood=likelihood)
    _, res = fit_variant(
        td,
        variant=variant,
        likelihood=likelihood,
        settings=settings,
        model=_MODELS[key],
        swap=True,
        light=True,  # posterior + divergence / energy: all a replication reads
    )
    draws = raw_draws(res.idata, td)
    tiers, ref = td.tiers, td.tiers[-1]
    if "slope" in draws:  # pooled
        s = draws["slope"].reshape(-1)
        qs = {f"slope[{t}]": s for t in tiers}
        qs.update({f"slope_diff[{t}-{ref}]": np.zeros_like(s) for t in tiers[:-1]})
    else:
        qs = {f"slope[{t}]": draws[f"slope[{t}]"].reshape(-1) for t in tiers}
        qs.update(
            {
                f"slope_diff[{t}-{ref}]": draws[f"slope_diff[{t}-{ref}]"].reshape(-1)
                for t in tiers[:-1]
            }
        )
    return qs, res
