"""bayesres._nutpie_cache: nutpie's C callbacks compiled once and loaded from disk afterwards.

The reference for every log density and gradient is PyMC's own ``model.compile_logp`` /
``compile_dlogp`` of the same model (PyTensor's default compile path, not the callbacks under
test), evaluated at random points of the unconstrained space."""

from __future__ import annotations

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
from nutpie_models import _call_logp, _data, _model, _reference, assert_matches_pymc


def test_logp_and_gradient_match_pymc():
    x, y, g = _data()
    m = _model(x, y, g)
    compiled = compile_pymc_model(m)
    assert_matches_pymc(m, compiled, points=5, seed=0)


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
from nutpie_models import _data, _model, _call_logp, _reference
from bayesres._nutpie_cache import compile_pymc_model
from bayesres import _graph_cache
x, y, g = _data(seed={data_seed})
m = _model(x, y, g, prior_sd={prior_sd})
c = compile_pymc_model(m)
p = np.random.default_rng(5).normal(size=c.n_dim)
got, ref = _call_logp(c, p)[0], _reference(m, c, p)[0]
idata = nutpie.sample(c, draws=100, tune=100, chains=2, cores=1, seed=11, progress_bar=False)
arr = np.ascontiguousarray(idata.posterior["b"].values, dtype=np.float64)
print(json.dumps({{"hits": [c.compiled_logp_func.cache_hits, c.compiled_expand_func.cache_hits],
                  "graphs": _graph_cache.stats,
                  "md5": hashlib.md5(arr.tobytes()).hexdigest(), "logp": [got, ref]}}))
"""


def _run(tmp_path: Path, prior_sd: float, data_seed: int = 3) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTENSOR_FLAGS",)}
    env["BAYESRES_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTENSORRC"] = str(tmp_path / "none")
    env["MPLBACKEND"] = "Agg"
    script = textwrap.dedent(_PROBE).format(
        tests=str(Path(__file__).parent.parent), prior_sd=prior_sd, data_seed=data_seed
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_second_process_loads_from_disk_with_identical_draws(tmp_path):
    """Cold process compiles and stores both callbacks and the rewritten graphs; a second
    process loads all of them (one cache hit each) and, with the same seed, draws the same
    bytes. A model that differs only in a prior constant shares the cache directory but not the
    entries: it compiles anew and its log density is its own (the keys cover the graph's
    constants), not the cached model's. A model with the same graph and other data loads the
    cached graph and callbacks, and its log density is PyMC's for its own data."""
    cold = _run(tmp_path, 1.0)
    warm = _run(tmp_path, 1.0)
    other = _run(tmp_path, 2.5)
    new_data = _run(tmp_path, 1.0, data_seed=8)
    assert cold["hits"] == [0, 0]
    assert cold["graphs"] == {"hits": 0, "misses": 1, "uncacheable": 0}
    assert warm["hits"] == [1, 1]
    assert warm["graphs"] == {"hits": 1, "misses": 0, "uncacheable": 0}
    assert warm["md5"] == cold["md5"]
    assert other["hits"][0] == 0
    assert other["graphs"]["misses"] == 1
    assert new_data["hits"] == [1, 1] and new_data["graphs"]["hits"] == 1
    assert new_data["md5"] != cold["md5"]
    for res in (cold, warm, other, new_data):
        assert res["logp"][0] == pytest.approx(res["logp"][1], rel=1e-12)
    assert other["logp"][0] != pytest.approx(cold["logp"][0], rel=1e-6)
