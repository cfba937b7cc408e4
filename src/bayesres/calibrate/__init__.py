"""Calibration for methodologists: SBC and fixed-parameter coverage studies, on Dask.

* ``run_sbc(model, sims=..., out=...)``: simulation-based calibration of a shipped model
  (``list_models()``), ranks of parameters, derived quantities and the log-likelihood.
* ``run_coverage(["S1", ...], reps=..., out=...)``: coverage of 95 % intervals at fixed true
  parameters on the customs38 tier design (methods.md section 2.6), frequentist and Bayesian.

Both store each finished replication atomically and resume an interrupted study.
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

__all__ = [
    "COVERAGE_COLUMNS",
    "METHODS",
    "SCENARIOS",
    "SBC_COLUMNS",
    "CalibrationModel",
    "coverage_table",
    "get_model",
    "list_models",
    "register",
    "run_coverage",
    "run_sbc",
    "uniformity_table",
]
