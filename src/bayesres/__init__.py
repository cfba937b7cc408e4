"""bayesres: hierarchical Bayesian re-analysis of urban-resilience studies.

Heavy modules load lazily, so ``import bayesres`` and ``bayesres --help`` stay fast.
``bayesres.index``, ``bayesres.regression`` and ``bayesres.did`` are analysis modules that can
also be called directly: ``bayesres.did(df, outcome=..., ...)`` is ``bayesres.did.run(df, ...)``.
"""

from __future__ import annotations

import importlib
from typing import Any

from bayesres._version import __version__

__all__ = [
    "__version__",
    "datasets",
    "index",
    "regression",
    "did",
    "simulate",
    "validate",
    "diagnostics",
]

_LAZY = {
    "datasets",
    "index",
    "regression",
    "did",
    "simulate",
    "validate",
    "diagnostics",
    "facts",
    "compare",
    "results",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(f"bayesres.{name}")
    raise AttributeError(f"module 'bayesres' has no attribute {name!r}")
