"""bayesres._nutpie_cache: nutpie's C callbacks compiled once and loaded from disk afterwards.

The reference for every log density and gradient is PyMC's own ``model.compile_logp`` /
``compile_dlogp`` of the same model (PyTensor's default compile path, not the callbacks under
test), evaluated at random points of the unconstrained space."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

# bayesres before PyMC (imported inside _model): the compile-cache directory and fast-math off
from bayesres._nutpie_cache import compile_pymc_model


def _model(x: np.ndarray, y: np.ndarray, g: np.ndarray, prior_sd: float = 1.0):
    import pymc as pm

    with pm.Model(coords={"g": [0, 1, 2]}) as m:
        xd = pm.Data("x", x)
        yd = pm.Data("y_obs", y)
        gd = pm.Data("g_idx", g)
        z = pm.Normal("z", 0, 1, dims="g")
        s = pm.HalfNormal("s", prior_sd)
        b = pm.Normal("b", 0, prior_sd)
        pm.Normal("y", z[gd] * s + b * xd, pm.HalfNormal("sigma", 1), observed=yd)
    return m


def _data(n: int = 18, seed: int = 3):
    rng = np.random.default_rng(seed)
    g = np.arange(n) % 3
    x = rng.normal(size=n)
    return x, 0.5 * x + 0.3 * g + rng.normal(size=n), g


def _call_logp(compiled, point: np.ndarray) -> tuple[float, np.ndarray]:
    """Call the C callback exactly as nutpie's sampler does (dim, x, grad out, logp out, data)."""
    n = compiled.n_dim
    x = np.ascontiguousarray(point, dtype=np.float64)
    grad = np.zeros(n)
    logp = np.zeros(())
    fn = compiled.compiled_logp_func.ctypes
    dptr = ctypes.POINTER(ctypes.c_double)
    code = fn(
        n,
        x.ctypes.data_as(dptr),
        grad.ctypes.data_as(dptr),
        logp.ctypes.data_as(dptr),
        ctypes.c_void_p(compiled.user_data.ctypes.data),
    )
    assert code == 0
    return float(logp), grad


def _reference(model, compiled, point: np.ndarray) -> tuple[float, np.ndarray]:
    """PyMC's logp and gradient at ``point``, laid out as nutpie joins the free variables (the
    value variables of ``model.free_RVs`` in order, each flattened)."""
    start = model.initial_point()
    names = [model.rvs_to_values[rv].name for rv in model.free_RVs]
    values, offset = {}, 0
    for name in names:
        shape = np.shape(start[name])
        size = int(np.prod(shape))
        values[name] = point[offset : offset + size].reshape(shape)
        offset += size
    assert offset == compiled.n_dim
    logp = model.compile_logp()(values)
    dlogp = model.compile_dlogp()(values)  # over model.value_vars, flattened in that order
    pieces, offset = {}, 0
    for v in model.value_vars:
        size = int(np.prod(np.shape(start[v.name])))
        pieces[v.name] = dlogp[offset : offset + size]
        offset += size
    return float(logp), np.concatenate([pieces[n] for n in names])


def test_logp_and_gradient_match_pymc():
    x, y, g = _data()
    m = _model(x, y, g)
    compiled = compile_pymc_model(m)
    rng = np.random.default_rng(0)
    for _ in range(5):
        p = rng.normal(size=compiled.n_dim)
        got_lp, got_grad = _call_logp(compiled, p)
        ref_lp, ref_grad = _reference(m, compiled, p)
        assert got_lp == pytest.approx(ref_lp, rel=1e-12, abs=1e-10)
        np.testing.assert_allclose(got_grad, ref_grad, rtol=1e-10, atol=1e-10)


def test_with_data_swaps_the_data_the_callback_reads():
    """A data swap (other values, other length) reaches the callback through the user-data
    record: the log density is PyMC's for the new data."""
    x, y, g = _data()
    m = _model(x, y, g)
    compiled = compile_pymc_model(m)
    x2, y2, g2 = _data(n=25, seed=9)
    swapped = compiled.with_data(x=x2, y_obs=y2, g_idx=g2)
    m2 = _model(x2, y2, g2)
    p = np.random.default_rng(1).normal(size=compiled.n_dim)
    got_lp, got_grad = _call_logp(swapped, p)
    ref_lp, ref_grad = _reference(m2, compiled, p)
    assert got_lp == pytest.approx(ref_lp, rel=1e-12)
    np.testing.assert_allclose(got_grad, ref_grad, rtol=1e-10, atol=1e-10)
    # and the original compile is untouched
    assert _call_logp(compiled, p)[0] == pytest.approx(_reference(m, compiled, p)[0], rel=1e-12)


def test_sampling_uses_the_cached_compile():
    from bayesres import sampling
    from bayesres.config import SamplerSettings

    x, y, g = _data()
    m = _model(x, y, g)
    sampling.clear_compile_cache()
    res = sampling.fit(
        m, settings=SamplerSettings(draws=50, tune=50, chains=1, cores=1, seed=2), retry=False
    )
    compiled = next(iter(sampling._COMPILED.values()))
    assert compiled.compiled_logp_func.__wrapped__.__name__ == "bayesres_logp_cfunc"
    assert res.idata["posterior"]["b"].shape == (1, 50)


_PROBE = """
import hashlib, json, sys, warnings
warnings.simplefilter("ignore")
import bayesres  # first: it sets the compile cache directory and fast-math off before PyTensor
import numpy as np
import nutpie
sys.path.insert(0, {tests!r})
from test_nutpie_cache import _data, _model, _call_logp, _reference
from bayesres._nutpie_cache import compile_pymc_model
x, y, g = _data()
m = _model(x, y, g, prior_sd={prior_sd})
c = compile_pymc_model(m)
p = np.random.default_rng(5).normal(size=c.n_dim)
got, ref = _call_logp(c, p)[0], _reference(m, c, p)[0]
idata = nutpie.sample(c, draws=100, tune=100, chains=2, cores=1, seed=11, progress_bar=False)
arr = np.ascontiguousarray(idata.posterior["b"].values, dtype=np.float64)
print(json.dumps({{"hits": [c.compiled_logp_func.cache_hits, c.compiled_expand_func.cache_hits],
                  "md5": hashlib.md5(arr.tobytes()).hexdigest(), "logp": [got, ref]}}))
"""


def _run(tmp_path: Path, prior_sd: float) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTENSOR_FLAGS",)}
    env["BAYESRES_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTENSORRC"] = str(tmp_path / "none")
    env["MPLBACKEND"] = "Agg"
    script = textwrap.dedent(_PROBE).format(tests=str(Path(__file__).parent), prior_sd=prior_sd)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_second_process_loads_from_disk_with_identical_draws(tmp_path):
    """Cold process compiles and stores both callbacks; a second process loads both (one cache
    hit each) and, with the same seed, draws the same bytes. A model that differs only in a
    prior constant shares the cache directory but not the entry: it compiles anew and its log
    density is its own (the key covers the graph's constants), not the cached model's."""
    cold = _run(tmp_path, 1.0)
    warm = _run(tmp_path, 1.0)
    other = _run(tmp_path, 2.5)
    assert cold["hits"] == [0, 0]
    assert warm["hits"] == [1, 1]
    assert warm["md5"] == cold["md5"]
    assert other["hits"][0] == 0
    for res in (cold, warm, other):
        assert res["logp"][0] == pytest.approx(res["logp"][1], rel=1e-12)
    assert other["logp"][0] != pytest.approx(cold["logp"][0], rel=1e-6)
