"""nutpie's rewritten PyTensor functions kept on disk, so a warm process skips graph rewriting.

Why: with the numba code cached (``bayesres._nutpie_cache``), what a warm compile still spends
is PyTensor rewriting the log-density + gradient and the trace-expansion graphs before linking
them (``nutpie.compile_pymc._make_functions``): 3.2 s for the ecommerce_panel DID model on an
idle core, once per model structure per process, and ``bayesres replicate`` builds about ten
structures. A pickled PyTensor ``Function`` keeps its rewritten graph; unpickling only links it
again (numba loads its cached code), 0.7 s for the same model.

The key is computed from the model's graphs *before* any rewriting, so it needs no caller to
describe the model: every Apply node in topological order (the Op's class and its ``__props__``,
recursively; an Op without ``__props__``, such as a scalar Op, by its whole instance state; and
the node's output types), every constant (dtype, shape and a hash of its bytes; object arrays by
their items), every shared variable and free input (name, type and the shape of its current
value), the order of the free variables and of the stored ones, ``check_bounds``, the numba
fast-math flag and the versions of PyTensor, PyMC, nutpie, numba and numpy. Anything whose
description would differ between processes (a default ``repr`` with an address; a Type with one
is described by its class) or would not say what it does (a lambda or closure) makes the model
uncacheable, and it compiles as before. Equal keys mean equal graphs in the sense PyTensor
itself uses to merge Ops (type and props), so a key collision between different models would
need two graphs PyTensor cannot tell apart.

The data are not part of the key (only their shapes), nor of the entry: the functions are
pickled with empty placeholders in their shared variables. After loading, every shared variable of
the cached functions takes the current value of the model's ``pm.Data`` container of the same
name; a shared variable without one makes the entry unusable and the model compiles as before.
Entries are written atomically; an unreadable entry is ignored. The directory is kept under
``$BAYESRES_GRAPH_CACHE_MB`` (default 256 MB; an entry is 0.5-2 MB): after each store the least
recently used entries go first (a hit refreshes an entry's time), never the one just written.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["graph_key", "make_functions", "GRAPH_CACHE_VERSION", "stats"]

GRAPH_CACHE_VERSION = "1"
DEFAULT_LIMIT_MB = 256.0
stats = {"hits": 0, "misses": 0, "uncacheable": 0}


class _Uncacheable(Exception):
    pass


def _canon(x: Any, depth: int = 0) -> Any:
    """A process-independent description of an Op property (recursive for nested Ops)."""
    from pytensor.graph.op import Op

    if depth > 20:
        raise _Uncacheable("nested too deep")
    if x is None or isinstance(x, bool | int | float | str | bytes):
        return x
    if isinstance(x, np.generic):
        return (str(x.dtype), x.item())
    if isinstance(x, np.ndarray):
        if x.dtype == object:  # its bytes are pointers; describe the items
            return ("objects", x.shape, _canon(x.ravel().tolist(), depth + 1))
        return ("array", str(x.dtype), x.shape, hashlib.sha256(np.ascontiguousarray(x)).hexdigest())
    if isinstance(x, tuple | list):
        return tuple(_canon(v, depth + 1) for v in x)
    if isinstance(x, dict) or type(x).__name__ == "frozendict":
        return tuple(sorted((repr(k), _canon(v, depth + 1)) for k, v in x.items()))
    if isinstance(x, Op) or hasattr(type(x), "__props__"):
        out: list[Any] = [type(x).__module__, type(x).__qualname__]
        props = getattr(type(x), "__props__", None)
        if props is not None:  # what PyTensor's own Op equality compares
            out += [(p, _canon(getattr(x, p), depth + 1)) for p in props]
            return tuple(out)
        # no __props__ (scalar Ops: equal by type and output_types_preference, comparisons
        # also by ``bool``): the whole instance state, which covers what equality reads
        state = getattr(x, "__dict__", None)
        if state is None:
            raise _Uncacheable(f"{type(x).__name__} has neither __props__ nor __dict__")
        out += [(k, _canon(v, depth + 1)) for k, v in sorted(state.items())]
        return tuple(out)
    if isinstance(x, type):
        return ("class", x.__module__, x.__qualname__)
    if callable(x) and hasattr(x, "__qualname__"):
        if "<" in x.__qualname__:  # a lambda or a closure: its name does not say what it does
            raise _Uncacheable(f"{x.__qualname__} has no stable description")
        return ("callable", getattr(x, "__module__", ""), x.__qualname__)
    text = repr(x)
    if " at 0x" in text:
        raise _Uncacheable(f"{type(x).__name__} has no stable description")
    return (type(x).__module__, type(x).__qualname__, text)


def _type(t: Any) -> Any:
    """A Type's description; singleton types whose repr is the default one (NoneTypeT) by class."""
    text = repr(t)
    if " at 0x" in text:
        return _canon(t) if hasattr(type(t), "__props__") else _canon(type(t))
    return text


def graph_key(model: Any) -> str | None:
    """The disk key of ``model``'s nutpie functions (module docstring); None when uncacheable."""
    import numba
    import nutpie
    import pymc
    import pytensor
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import toposort

    free = [model.rvs_to_values[rv] for rv in model.free_RVs]
    stored = list(model.unobserved_value_vars)
    outputs = [model.logp(), *stored]
    h = hashlib.sha256()
    ids: dict[Any, int] = {}

    def root(v: Any) -> int:
        if v not in ids:
            if isinstance(v, Constant):
                tag: tuple = ("const", _type(v.type), _canon(v.data))
            elif isinstance(v, SharedVariable):
                tag = ("shared", v.name, _type(v.type), np.shape(v.get_value(borrow=True)))
            else:
                tag = ("input", v.name, _type(v.type))
            ids[v] = len(ids)
            h.update(repr((ids[v], tag)).encode())
        return ids[v]

    try:
        for node in toposort(outputs):
            ins = [ids[i] if i in ids else root(i) for i in node.inputs]
            h.update(repr((_canon(node.op), ins, [_type(o.type) for o in node.outputs])).encode())
            for o in node.outputs:
                ids[o] = len(ids)
        tail = [ids[o] if o in ids else root(o) for o in outputs]
    except _Uncacheable:
        return None
    shared = [v for v in ids if isinstance(v, SharedVariable)]
    if any(not v.name for v in shared) or len({v.name for v in shared}) != len(shared):
        return None
    h.update(
        repr(
            (
                GRAPH_CACHE_VERSION,
                tail,
                [v.name for v in free],
                [v.name for v in stored],
                bool(model.check_bounds),
                bool(pytensor.config.numba__fastmath),
                pytensor.__version__,
                pymc.__version__,
                getattr(nutpie, "__version__", "?"),
                numba.__version__,
                np.__version__,
            )
        ).encode()
    )
    return h.hexdigest()


def cache_root() -> Path:
    import pytensor

    return Path(pytensor.config.base_compiledir) / "bayesres_graphs"


def _shared(fns: Any) -> list[Any]:
    """The shared variables of the functions, each once, in order."""
    return list(dict.fromkeys(v for f in fns for v in f.get_shared()))


def _rebind(fns: tuple[Any, Any], model: Any) -> bool:
    """Give each shared variable of the loaded functions the model's current data."""
    from pytensor.compile.sharedvalue import SharedVariable

    for var in _shared(fns):
        mine = model.named_vars.get(var.name)
        if not isinstance(mine, SharedVariable) or mine.type != var.type:
            return False
        var.set_value(np.array(mine.get_value(borrow=True), copy=True))
    return True


def _load(path: Path, model: Any) -> tuple | None:
    try:
        with open(path, "rb") as fh:
            entry = pickle.load(fh)
    except Exception:  # noqa: BLE001 - a damaged or foreign entry is a miss, never an error
        return None
    if not (isinstance(entry, tuple) and len(entry) == 6):
        return None
    fns = entry[2:4]  # None when PyTensor's config.unpickle_function is off
    if not all(hasattr(f, "get_shared") for f in fns) or not _rebind(fns, model):
        return None
    return entry


def limit_bytes() -> int:
    """The size cap of the directory: ``$BAYESRES_GRAPH_CACHE_MB`` megabytes, else 256."""
    raw = os.environ.get("BAYESRES_GRAPH_CACHE_MB", "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_LIMIT_MB
    except ValueError:
        mb = DEFAULT_LIMIT_MB  # a bad value must not break a fit; the default applies
    return int(max(mb, 0.0) * 1e6)


def prune(root: Path, *, keep: Path, limit: int) -> list[Path]:
    """Delete the least recently used entries of ``root`` until it holds at most ``limit``
    bytes, never ``keep``; returns what was deleted. Another process may delete at the same
    time: a file already gone is skipped."""
    entries = []
    for p in root.glob("*.pkl"):
        try:
            st = p.stat()
        except OSError:
            continue
        entries.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in entries)
    gone = []
    for _, size, p in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        if p == keep:
            continue
        try:
            p.unlink()
        except OSError:
            continue
        total -= size
        gone.append(p)
    return gone


def _store(path: Path, entry: tuple) -> None:
    """Pickle the functions with empty placeholders for the data (the cache keeps no user
    data; loading rebinds the model's), then restore the values."""
    shared = _shared(entry[2:4])
    saved = [v.get_value(borrow=True) for v in shared]
    try:
        for v, val in zip(shared, saved, strict=True):
            v.set_value(np.zeros((0,) * np.ndim(val), dtype=np.asarray(val).dtype), borrow=True)
        blob = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an unpicklable function is simply not cached
        return
    finally:
        for v, val in zip(shared, saved, strict=True):
            v.set_value(val, borrow=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        return
    prune(path.parent, keep=path, limit=limit_bytes())


def make_functions(model: Any, initial_point_fn: Any) -> tuple:
    """``nutpie.compile_pymc._make_functions(model, mode="NUMBA", ...)``, disk-cached."""
    from nutpie import compile_pymc as cp

    key = graph_key(model)
    entry = None
    path = cache_root() / f"{key}.pkl" if key else None
    if path is not None and path.exists():
        entry = _load(path, model)
    if entry is not None:
        stats["hits"] += 1
        try:
            os.utime(path)  # least recently used goes first when the directory is pruned
        except OSError:
            pass
        n_dim, n_expanded, logp_pt, expand_pt, shape_info, reparam = entry
        names, _, shapes = shape_info
        n_free = len(model.free_RVs)  # the joined (free) variables come first, as in nutpie
        init_fn = cp._rv_dict_to_flat_array_wrapper(
            initial_point_fn, names=list(names[:n_free]), shapes=list(shapes[:n_free])
        )
        return n_dim, n_expanded, logp_pt, expand_pt, init_fn, shape_info, reparam
    stats["misses" if key else "uncacheable"] += 1
    out = cp._make_functions(
        model,
        mode="NUMBA",
        compute_grad=True,
        join_expanded=True,
        pymc_initial_point_fn=initial_point_fn,
    )
    if path is not None:
        n_dim, n_expanded, logp_pt, expand_pt, _init, shape_info, reparam = out
        _store(path, (n_dim, n_expanded, logp_pt, expand_pt, shape_info, reparam))
    return out
