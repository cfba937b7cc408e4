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


def _configure_compiler() -> None:
    """Before PyTensor is imported: a persistent compile cache in the user's cache directory
    (bayesres.perf) and numba fast-math off, so the same seed gives the same draws on a cold
    and a warm cache (notes/pymc6-arviz1.md P1). Both only touch ``PYTENSOR_FLAGS`` and never
    override a user's own setting."""
    import os
    import sys

    if "pytensor" in sys.modules:
        return
    from bayesres.perf import configure_cache

    configure_cache()
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    if "numba__fastmath" not in flags:
        os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (flags, "numba__fastmath=False") if f)


_configure_compiler()


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(f"bayesres.{name}")
    raise AttributeError(f"module 'bayesres' has no attribute {name!r}")
