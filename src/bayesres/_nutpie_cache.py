"""nutpie's numba compile with its two C callbacks cached on disk.

Why: ``nutpie.compile_pymc_model`` wraps PyTensor's numba log-density in a ``numba.cfunc``
built from a closure, which numba cannot cache, so every process re-ran LLVM over the whole
linked log-density: 5 of the 6.5 s of a warm W1 compile and 15 of the 18 s of a warm W2
compile (benchmarks/README.md, profile). PyTensor already caches its own numba functions under
``<base_compiledir>/numba`` keyed by a hash of the graph; this module builds the same two C
callbacks (the logp + gradient and the trace expansion, with nutpie's calling convention and
return codes) from generated source with no closure, registers them with PyTensor's numba cache
locator under a key derived from PyTensor's own key of the wrapped function, and compiles them
with ``cache=True``. A second process then loads them instead of compiling.

What the key covers: PyTensor's key of the inner function (the graph, its constants and the
fast-math flag), the wrapper source (dimensions), the layout of the user-data record and the
rank and dtype of each shared variable (their values and lengths reach the callback at run time
through the record, as in nutpie), and the versions of nutpie and numba. Shared-variable record
fields get deterministic names (nutpie uses random ones), so the compiled code is the same in
every process.

Falls back to ``nutpie.compile_pymc_model`` (with a one-time warning) when nutpie's internals
differ from those this was written against or PyTensor gives the function no cache key.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

import numpy as np

__all__ = ["compile_pymc_model", "cache_key_of", "CACHE_VERSION"]

CACHE_VERSION = "1"

_LOGP_SRC = """
def bayesres_logp_cfunc(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_dim},))
        logp = numba.carray(logp_, ())
        logp_val, grad = extract(x, user_data_)
        logp[()] = logp_val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""

_EXPAND_SRC = """
def bayesres_expand_cfunc(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim}:
        return -1
    if expanded != {n_expanded}:
        return -1
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_expanded},))
        (values,) = extract(x, user_data_)
        out[...] = values
    except Exception:
        return -2
    return 0
"""

_warned = False


def _fallback(model: Any, why: str) -> Any:
    global _warned
    import nutpie

    if not _warned:
        _warned = True
        warnings.warn(
            f"compiled models are not cached across processes ({why}); each process compiles again",
            RuntimeWarning,
            stacklevel=3,
        )
    return nutpie.compile_pymc_model(model)


def _signatures() -> tuple[Any, Any]:
    import numba

    t = numba.types
    dbl = t.CPointer(t.double)
    logp = t.int64(t.uint64, dbl, dbl, dbl, t.voidptr)
    expand = t.int64(t.uint64, t.uint64, dbl, dbl, t.voidptr)
    return logp, expand


def cache_key_of(
    inner_key: str, src: str, record: np.dtype, shared: list[tuple[str, int, str]]
) -> str:
    """The disk-cache key of one callback (see the module docstring for what it covers)."""
    import numba
    import nutpie

    payload = repr(
        (
            CACHE_VERSION,
            inner_key,
            src,
            str(record),
            shared,
            getattr(nutpie, "__version__", "?"),
            numba.__version__,
        )
    )
    return "bayesres_nutpie_" + hashlib.sha256(payload.encode()).hexdigest()


def compile_pymc_model(model: Any) -> Any:
    """``nutpie.compile_pymc_model(model)`` (numba backend, default options), disk-cached."""
    try:
        import numba
        from nutpie import compile_pymc as cp
        from pymc.initial_point import make_initial_point_fn
        from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src

        from bayesres._graph_cache import make_functions

        needed = (
            "_make_functions",
            "make_user_data",
            "make_extraction_fn",
            "_prepare_dims_and_coords",
            "_wrap_with_lock",
            "CompiledPyMCModel",
        )
        missing = [n for n in needed if not hasattr(cp, n)]
    except ImportError as exc:  # pragma: no cover - depends on installed versions
        return _fallback(model, f"import failed: {exc}")
    if missing:  # pragma: no cover - depends on the installed nutpie
        return _fallback(model, f"nutpie lacks {', '.join(missing)}")

    # As nutpie.compile_pymc_model with its defaults: support-point start, jittered.
    initial_point_fn = cp._wrap_with_lock(
        make_initial_point_fn(
            model=model,
            default_strategy="support_point",
            jitter_rvs=set(model.free_RVs),
            return_transformed=True,
        )
    )
    # the rewritten PyTensor functions come from disk when this graph was compiled before
    n_dim, n_expanded, logp_pt, expand_pt, init_fn, shape_info, reparam = make_functions(
        model, initial_point_fn
    )

    shared_data: dict[str, np.ndarray] = {}
    shared_keys: dict[Any, str] = {}
    for var in [*logp_pt.get_shared(), *expand_pt.get_shared()]:
        if var in shared_keys:
            continue
        key = f"shared{len(shared_keys):04d}"
        value = np.array(var.get_value(), order="C", copy=True)
        value.flags.writeable = False
        shared_data[key] = value
        shared_keys[var] = key
    user_data = cp.make_user_data(shared_keys, shared_data)
    # The extraction function types its argument tuple from these arrays and then replaces
    # every element by the array the record points to; tiny templates keep the user's data out
    # of the compiled code (large constant arrays would also make it uncacheable).
    templates = {k: np.zeros((1,) * v.ndim, dtype=v.dtype) for k, v in shared_data.items()}

    sig_logp, sig_expand = _signatures()
    callbacks = {}
    for name, fn_pt, src, sig in (
        ("logp", logp_pt, _LOGP_SRC.format(n_dim=n_dim), sig_logp),
        ("expand", expand_pt, _EXPAND_SRC.format(n_dim=n_dim, n_expanded=n_expanded), sig_expand),
    ):
        inner = fn_pt.vm.jit_fn
        inner_key = CACHED_SRC_FUNCTIONS.get(getattr(inner, "py_func", None))
        keys = [shared_keys[v] for v in fn_pt.get_shared()]
        extract = cp.make_extraction_fn(inner, templates, keys, user_data.dtype)
        key = None
        if inner_key is not None:
            key = cache_key_of(
                inner_key,
                src,
                user_data.dtype,
                [(k, shared_data[k].ndim, str(shared_data[k].dtype)) for k in keys],
            )
        fname = f"bayesres_{name}_cfunc"
        # __name__ must name an importable module: numba pickles it to rebuild the
        # function's environment when it loads the cached code.
        env = {"numba": numba, "np": np, "extract": extract, "__name__": __name__}
        func = compile_numba_function_src(src, fname, env, cache_key=key)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Cannot cache compiled function")
            callbacks[name] = numba.cfunc(sig, cache=key is not None)(func)

    dims, coords = cp._prepare_dims_and_coords(model, shape_info, reparam)
    return cp.CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={n: tuple(s) for n, _, s in zip(*shape_info, strict=True)},
        compiled_logp_func=callbacks["logp"],
        compiled_expand_func=callbacks["expand"],
        initial_point_func=init_fn,
        shared_data=shared_data,
        shared_var_keys=shared_keys,
        user_data=user_data,
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_pt,
        expand_func=expand_pt,
        reparameterized_names=reparam,
    )
