"""Calibration models: the small protocol SBC runs against, and the shipped adapters.

A calibration model is three things (Talts et al. 2018; Modrák et al. 2023):

* ``simulate(rng) -> (params, data)``: one draw from the prior and data simulated from it on the
  real design; ``data`` holds the values of the model's ``pm.Data`` containers.
* ``build() -> pm.Model``: the model, built once per process with ``pm.Data`` containers, so one
  nutpie compile serves every simulation (data are swapped, ``bayesres.sampling.fit``).
* ``quantities(params, data) -> {name: array}``: the checked quantities, vectorised over leading
  draw dimensions: parameters, derived quantities and the log-likelihood test quantity
  (``loglik``). The same function maps the true parameters (scalars) and the posterior draws
  (``(draw,)`` leading axis), so truth and draws are ranked on exactly the same scale.

``variant(data) -> hashable`` (optional): which form of the model the analysis would fit to
these data, for models whose parametrisation is chosen per data set (the DID's centring rule);
``build(variant)`` then builds that form, compiled once per process and variant.

``target_accept``, ``adaptation`` and ``tune`` are the sampler settings the shipped analysis fits
the model with (``bayesres did`` starts at 0.95, ``bayesres index --method factor`` adapts a
low-rank mass matrix, every analysis tunes for 1,000 steps), so SBC checks the posterior the
analysis computes. ``tune`` is an SBC study's tuning length unless ``--tune`` says otherwise. It
was 500 for every model until session 7; at 500, 7 of 150 fits of the ecommerce-design DID and 1
of 150 of the hierarchical Normal regression still diverged after the target_accept ladder, at
the analyses' 1,000 one and none did (docs/calibration/).

Adapters: eight schools here; the tier regression (``regression_models``), the hierarchical
DID (``did_models``) and the factor index (``index_models``) register themselves on import,
which :func:`list_models` and :func:`get_model` trigger (also in a Dask worker).

``eight_schools_misspecified`` is a deliberately wrong pairing (the simulator's mu and tau prior
scales are 3 x the model's) kept only so the tests can show that SBC fails when it should; it is not listed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayesres.config import SamplerSettings
from bayesres.errors import SpecError

__all__ = ["CalibrationModel", "get_model", "list_models", "register", "built_model"]

Params = dict[str, np.ndarray]
Data = dict[str, np.ndarray]


@dataclass(frozen=True)
class CalibrationModel:
    name: str
    description: str
    build: Callable[..., Any]
    simulate: Callable[[np.random.Generator], tuple[Params, Data]]
    quantities: Callable[[Mapping[str, np.ndarray], Mapping[str, np.ndarray]], dict[str, Any]]
    var_names: tuple[str, ...] | Callable[[], tuple[str, ...]]
    listed: bool = True
    key: str = field(default="")
    target_accept: float = 0.9
    adaptation: str = "diag"
    tune: int = SamplerSettings.tune  # SBC's default tuning length: the analyses'
    variant: Callable[[Data], Hashable] | None = None

    @property
    def compile_key(self) -> str:
        return self.key or f"calibrate:{self.name}"

    def variant_of(self, data: Data) -> Hashable | None:
        """The model form for these data (None: one form for all)."""
        return None if self.variant is None else self.variant(data)

    def key_of(self, variant: Hashable | None) -> str:
        return self.compile_key if variant is None else f"{self.compile_key}:{variant}"

    def variables(self) -> tuple[str, ...]:
        """The posterior variables to keep: ``var_names``, or what it returns when callable
        (adapters whose names depend on a design loaded on first use)."""
        names = self.var_names() if callable(self.var_names) else self.var_names
        return tuple(names)


_REGISTRY: dict[str, CalibrationModel] = {}
_BUILT: dict[str, Any] = {}  # one pm.Model per process and model


def register(model: CalibrationModel) -> CalibrationModel:
    _REGISTRY[model.name] = model
    return model


_ADAPTERS = (
    "bayesres.calibrate.regression_models",
    "bayesres.calibrate.did_models",
    "bayesres.calibrate.index_models",
)


def _load_adapters() -> None:
    """Import the adapter modules (each registers its models; cheap: no data, no PyMC)."""
    import importlib

    for mod in _ADAPTERS:
        importlib.import_module(mod)


def list_models(*, include_unlisted: bool = False) -> list[CalibrationModel]:
    _load_adapters()
    return [m for m in _REGISTRY.values() if m.listed or include_unlisted]


def get_model(name: str) -> CalibrationModel:
    if name not in _REGISTRY:
        _load_adapters()
    if name not in _REGISTRY:
        shown = ", ".join(m.name for m in list_models())
        raise SpecError(f"unknown calibration model {name!r}", hint=f"Use one of: {shown}.")
    return _REGISTRY[name]


def built_model(cm: CalibrationModel, variant: Hashable | None = None) -> Any:
    """The model's ``pm.Model`` (of that ``variant``), built on first use in this process and
    cached."""
    key = cm.key_of(variant)
    if key not in _BUILT:
        _BUILT[key] = cm.build() if variant is None else cm.build(variant)
    return _BUILT[key]


# --------------------------------------------------------------------------- eight schools

_ES_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
# target_accept 0.95 for all three eight-schools adapters (as bayesres did): at 0.9 the
# non-centred model also diverged in 1-4 of 200 prior simulations (tau* 0.1-5; seeds 0 and 11,
# 1 and 2 chains x 400 draws), which flags an SBC study (sbc.py); at 0.95 0 of 600 did, while
# the centred model still diverged in 39 of 80 (same settings as its test)
_ES_TARGET_ACCEPT = 0.95
_ES_SCHOOLS = ("A", "B", "C", "D", "E", "F", "G", "H")
_MU_SD, _TAU_BETA = 5.0, 5.0  # methods.md section 5.3: mu ~ N(0, 5), tau ~ HalfCauchy(5)


def _es_build(centred: bool) -> Callable[[], Any]:
    def build() -> Any:
        try:
            from bayesres.examples import build_eight_schools
        except ImportError:  # pragma: no cover - H8 absent
            build_eight_schools = _own_eight_schools
        return build_eight_schools(centred, mu_sd=_MU_SD, tau_beta=_TAU_BETA)

    return build


def _own_eight_schools(
    centred: bool, *, mu_sd: float = _MU_SD, tau_beta: float = _TAU_BETA
) -> Any:  # pragma: no cover - fallback only
    import pymc as pm

    with pm.Model(coords={"school": _ES_SCHOOLS}) as m:
        y_obs = pm.Data("y_obs", np.zeros(8), dims="school")
        mu = pm.Normal("mu", 0.0, mu_sd)
        tau = pm.HalfCauchy("tau", tau_beta)
        if centred:
            theta = pm.Normal("theta", mu, tau, dims="school")
        else:
            z = pm.Normal("theta_z", 0.0, 1.0, dims="school")
            theta = pm.Deterministic("theta", mu + tau * z, dims="school")
        pm.Normal("y", theta, _ES_SIGMA, observed=y_obs, dims="school")
    return m


def _es_simulator(
    tau_scale: float, mu_sd: float = _MU_SD
) -> Callable[[np.random.Generator], tuple[Params, Data]]:
    def simulate(rng: np.random.Generator) -> tuple[Params, Data]:
        mu = rng.normal(0.0, mu_sd)
        tau = abs(tau_scale * rng.standard_cauchy())
        theta = mu + tau * rng.standard_normal(8)
        y = rng.normal(theta, _ES_SIGMA)
        return {"mu": np.asarray(mu), "tau": np.asarray(tau), "theta": theta}, {"y_obs": y}

    return simulate


def _es_quantities(p: Mapping[str, np.ndarray], d: Mapping[str, np.ndarray]) -> dict[str, Any]:
    theta = np.asarray(p["theta"], float)
    y = np.asarray(d["y_obs"], float)
    out: dict[str, Any] = {"mu": np.asarray(p["mu"], float), "tau": np.asarray(p["tau"], float)}
    for j, s in enumerate(_ES_SCHOOLS):
        out[f"theta[{s}]"] = theta[..., j]
    out["theta_range"] = theta.max(axis=-1) - theta.min(axis=-1)  # derived
    z = (y - theta) / _ES_SIGMA
    out["loglik"] = np.sum(-0.5 * z**2 - np.log(_ES_SIGMA) - 0.5 * np.log(2 * np.pi), axis=-1)
    return out


register(
    CalibrationModel(
        name="eight_schools",
        description="eight schools, non-centred (methods 5.3): mu ~ N(0,5), tau ~ HalfCauchy(5)",
        build=_es_build(False),
        simulate=_es_simulator(_TAU_BETA),
        quantities=_es_quantities,
        var_names=("mu", "tau", "theta"),
        target_accept=_ES_TARGET_ACCEPT,
    )
)
register(
    CalibrationModel(
        name="eight_schools_centred",
        description="eight schools, centred (funnel geometry: divergent fits, SBC flags it)",
        build=_es_build(True),
        simulate=_es_simulator(_TAU_BETA),
        quantities=_es_quantities,
        var_names=("mu", "tau", "theta"),
        target_accept=_ES_TARGET_ACCEPT,
    )
)
register(
    CalibrationModel(
        name="eight_schools_misspecified",
        description="TEST ONLY: simulator mu ~ N(0, 15), tau ~ HalfCauchy(15); model N(0, 5), "
        "HalfCauchy(5)",
        build=_es_build(False),
        simulate=_es_simulator(3.0 * _TAU_BETA, 3.0 * _MU_SD),
        quantities=_es_quantities,
        var_names=("mu", "tau", "theta"),
        listed=False,
        target_accept=_ES_TARGET_ACCEPT,
        key="calibrate:eight_schools",  # same model as eight_schools: share the compile
    )
)
