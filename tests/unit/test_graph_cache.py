"""bayesres._graph_cache: nutpie's rewritten PyTensor functions stored and loaded by graph key.

References: PyMC's own ``model.compile_logp`` / ``compile_dlogp`` (PyTensor's default compile
path, not the functions under test), as in test_nutpie_cache.py."""

from __future__ import annotations

import numpy as np
import pytest

from bayesres import _graph_cache as gc
from bayesres._nutpie_cache import compile_pymc_model
from nutpie_models import _call_logp, _data, _model, _reference, assert_matches_pymc


def test_key_is_the_graph_not_the_data():
    x, y, g = _data()
    base = gc.graph_key(_model(x, y, g))
    assert base is not None and len(base) == 64
    assert gc.graph_key(_model(x, y, g)) == base  # rebuilt: same key
    x2, y2, g2 = _data(seed=11)  # other values, same shapes: same graph, data swapped in
    assert gc.graph_key(_model(x2, y2, g2)) == base
    assert gc.graph_key(_model(*_data(n=25))) != base  # other shapes
    assert gc.graph_key(_model(x, y, g, prior_sd=2.5)) != base  # other constant


def test_scalar_ops_are_told_apart():
    """Scalar Ops have no __props__; two graphs that differ only in one of them differ."""
    import pymc as pm

    def build(op):
        with pm.Model() as m:
            a = pm.Normal("a")
            pm.Deterministic("d", op(a))
        return m

    import pytensor.tensor as pt

    assert gc.graph_key(build(pt.exp)) != gc.graph_key(build(pt.log1p))
    assert gc.graph_key(build(pt.exp)) == gc.graph_key(build(pt.exp))


def test_stored_functions_serve_another_models_data(tmp_path, monkeypatch):
    """First compile stores the rewritten functions; a model with the same graph and other data
    loads them (a hit), and its log density and gradient are PyMC's for *its* data."""
    monkeypatch.setattr(gc, "cache_root", lambda: tmp_path)
    monkeypatch.setattr(gc, "stats", {"hits": 0, "misses": 0, "uncacheable": 0})
    x, y, g = _data()
    compile_pymc_model(_model(x, y, g))
    assert gc.stats == {"hits": 0, "misses": 1, "uncacheable": 0}
    assert len(list(tmp_path.glob("*.pkl"))) == 1
    x2, y2, g2 = _data(seed=11)
    m2 = _model(x2, y2, g2)
    c2 = compile_pymc_model(m2)
    assert gc.stats["hits"] == 1
    assert_matches_pymc(m2, c2, points=3, seed=4)
    assert np.shape(c2.initial_point_func(0)) == (c2.n_dim,)  # rebuilt for the loaded entry


def test_damaged_entry_is_a_miss(tmp_path, monkeypatch):
    monkeypatch.setattr(gc, "cache_root", lambda: tmp_path)
    x, y, g = _data()
    m = _model(x, y, g)
    (tmp_path / f"{gc.graph_key(m)}.pkl").write_bytes(b"not a pickle")
    monkeypatch.setattr(gc, "stats", {"hits": 0, "misses": 0, "uncacheable": 0})
    c = compile_pymc_model(m)
    assert gc.stats["misses"] == 1
    p = np.random.default_rng(0).normal(size=c.n_dim)
    assert _call_logp(c, p)[0] == pytest.approx(_reference(m, c, p)[0], rel=1e-12)


def test_unpickling_switched_off_is_a_miss(tmp_path, monkeypatch):
    """With PyTensor's unpickle_function off, a stored entry loads as (…, None, None, …): the
    model compiles as before instead of failing."""
    import pytensor

    monkeypatch.setattr(gc, "cache_root", lambda: tmp_path)
    x, y, g = _data()
    compile_pymc_model(_model(x, y, g))
    monkeypatch.setattr(pytensor.config, "unpickle_function", False)
    monkeypatch.setattr(gc, "stats", {"hits": 0, "misses": 0, "uncacheable": 0})
    m = _model(x, y, g)
    c = compile_pymc_model(m)
    assert gc.stats == {"hits": 0, "misses": 1, "uncacheable": 0}
    p = np.random.default_rng(2).normal(size=c.n_dim)
    assert _call_logp(c, p)[0] == pytest.approx(_reference(m, c, p)[0], rel=1e-12)


_KEY_PROBE = """
import warnings
warnings.simplefilter("ignore")
import bayesres
import numpy as np
import pymc as pm
import pytensor.tensor as pt
from bayesres._graph_cache import graph_key
with pm.Model() as m:
    x = pm.Data("x", np.ones((2, 3)))  # static shape (None, None)
    w = pt.specify_shape(x, (None, 3))  # a None in the shape: a NoneConst in the graph
    z = pm.Normal("z", 0, 1)
    pm.Normal("y", z * w.sum(), 1, observed=np.array(0.3))
print(graph_key(m))
"""


def test_key_is_the_same_in_another_process(tmp_path):
    """Keys must not depend on object addresses: a graph with a NoneConst (whose type has the
    default repr, with an address) gave each process its own key, so every warm run missed."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "BAYESRES_CACHE_DIR": str(tmp_path / "cache"), "MPLBACKEND": "Agg"}
    keys = {
        subprocess.run(
            [sys.executable, "-c", _KEY_PROBE], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(keys) == 1 and len(keys.pop()) == 64


def test_descriptions_that_would_collide_or_drift_are_refused():
    """Two closures share a qualname but not a behaviour, and a default repr carries an address:
    neither may describe an Op property (the model then compiles uncached)."""

    def scaled(k):
        return lambda v: k * v

    for thing in (scaled(1.0), scaled(2.0), object()):
        with pytest.raises(gc._Uncacheable):
            gc._canon(thing)
    objs = np.array([None, 1.5], dtype=object)  # object arrays by their items, not pointers
    assert gc._canon(objs) == gc._canon(np.array([None, 1.5], dtype=object))


def test_prune_drops_least_recently_used_first_never_the_new_entry(tmp_path):
    import os

    sizes = {"a": 400, "b": 300, "c": 200, "new": 500}
    for i, (name, size) in enumerate(sizes.items()):
        p = tmp_path / f"{name}.pkl"
        p.write_bytes(b"x" * size)
        os.utime(p, (1000 + i, 1000 + i))  # a oldest ... new newest
    os.utime(tmp_path / "new.pkl", (10, 10))  # even when the new entry looks oldest
    (tmp_path / "notes.txt").write_bytes(b"y" * 5000)  # not an entry: never counted or deleted
    gone = gc.prune(tmp_path, keep=tmp_path / "new.pkl", limit=1000)
    assert [p.name for p in gone] == ["a.pkl"]  # 1400 -> 1000 bytes: the oldest one goes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.pkl", "c.pkl", "new.pkl", "notes.txt"]
    gone = gc.prune(tmp_path, keep=tmp_path / "new.pkl", limit=0)
    assert [p.name for p in gone] == ["b.pkl", "c.pkl"]
    assert (tmp_path / "new.pkl").exists()


def test_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("BAYESRES_GRAPH_CACHE_MB", "1.5")
    assert gc.limit_bytes() == 1_500_000
    monkeypatch.setenv("BAYESRES_GRAPH_CACHE_MB", "lots")
    assert gc.limit_bytes() == int(gc.DEFAULT_LIMIT_MB * 1e6)
    monkeypatch.delenv("BAYESRES_GRAPH_CACHE_MB")
    assert gc.limit_bytes() == int(gc.DEFAULT_LIMIT_MB * 1e6)


def test_store_prunes_and_a_hit_refreshes_the_entry(tmp_path, monkeypatch):
    """Through compile_pymc_model: a stale entry is pruned when a new one is stored over the cap,
    and loading an entry makes it the most recently used."""
    import os

    monkeypatch.setattr(gc, "cache_root", lambda: tmp_path)
    monkeypatch.setattr(gc, "stats", {"hits": 0, "misses": 0, "uncacheable": 0})
    stale = tmp_path / ("0" * 64 + ".pkl")
    stale.write_bytes(b"z" * 1000)
    os.utime(stale, (1, 1))
    monkeypatch.setenv("BAYESRES_GRAPH_CACHE_MB", "0")  # anything but the new entry goes
    x, y, g = _data()
    compile_pymc_model(_model(x, y, g))
    [entry] = tmp_path.glob("*.pkl")
    assert entry != stale and not stale.exists()
    os.utime(entry, (5, 5))
    compile_pymc_model(_model(*_data(seed=3)))  # same graph, other data: a hit
    assert gc.stats["hits"] == 1 and entry.stat().st_mtime > 5
