"""Calibration for methodologists: SBC and fixed-parameter coverage studies, on Dask.

* ``run_sbc(model, sims=..., out=...)``: simulation-based calibration of a shipped model
  (``list_models()``), ranks of parameters, derived quantities and the log-likelihood.
* ``run_coverage(["S1", ...], reps=..., out=...)``: coverage of 95 % intervals at fixed true
  parameters on the customs38 tier design (methods.md section 2.6), frequentist and Bayesian.
* ``run_prior_sensitivity("regression" | "did", ...)`` (``regression_sensitivity``,
  ``did_sensitivity``): refits at x0.5 / x2 prior scales beside power-scaling (``sensitivity``).

SBC and coverage store each finished replication atomically and resume an interrupted study.
"""

from __future__ import annotations

from bayesres.calibrate import regression_models  # noqa: F401  (registers the shipped models)
from bayesres.calibrate.coverage import (
    COVERAGE_COLUMNS,
    METHODS,
    SCENARIOS,
    coverage_table,
    run_coverage,
)
from bayesres.calibrate.models import CalibrationModel, get_model, list_models, register
from bayesres.calibrate.sbc import SBC_COLUMNS, run_sbc, uniformity_table
from bayesres.calibrate.sensitivity import (
    SENSITIVITY_COLUMNS,
    did_sensitivity,
    regression_sensitivity,
    run_prior_sensitivity,
)

__all__ = [
    "COVERAGE_COLUMNS",
    "METHODS",
    "SCENARIOS",
    "SBC_COLUMNS",
    "SENSITIVITY_COLUMNS",
    "CalibrationModel",
    "coverage_table",
    "did_sensitivity",
    "get_model",
    "list_models",
    "register",
    "regression_sensitivity",
    "run_coverage",
    "run_prior_sensitivity",
    "run_sbc",
    "uniformity_table",
]
