"""A small PyMC model and PyMC's own log density / gradient for it, shared by the tests of
bayesres._nutpie_cache and bayesres._graph_cache (PyTensor's default compile path is the
reference, not the compiled callbacks under test)."""

from __future__ import annotations

import ctypes

import numpy as np


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


def assert_matches_pymc(model, compiled, *, points: int = 3, seed: int = 0) -> None:
    """The compiled log density and gradient equal PyMC's at random unconstrained points."""
    import pytest

    rng = np.random.default_rng(seed)
    for _ in range(points):
        p = rng.normal(size=compiled.n_dim)
        got_lp, got_grad = _call_logp(compiled, p)
        ref_lp, ref_grad = _reference(model, compiled, p)
        assert got_lp == pytest.approx(ref_lp, rel=1e-12, abs=1e-10)
        np.testing.assert_allclose(got_grad, ref_grad, rtol=1e-10, atol=1e-10)
