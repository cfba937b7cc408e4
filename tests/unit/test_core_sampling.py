"""Compile-once fitting: a cached compile never samples another model's (stale) data."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from bayesres.config import SamplerSettings
from bayesres.sampling import clear_compile_cache, fit


def _model(y: np.ndarray) -> pm.Model:
    with pm.Model(coords={"obs": np.arange(len(y))}) as m:
        yd = pm.Data("y_obs", y, dims="obs")
        pm.Data("unused", np.zeros(2))  # not in the graph: must not break data swaps
        mu = pm.Normal("mu", 0, 10)
        pm.Normal("y", mu, 1.0, observed=yd, dims="obs")
    return m


@pytest.mark.slow
def test_same_key_other_model_uses_its_own_data_and_seed_is_reproducible():
    # closed form: with a N(0, 10^2) prior and unit noise, E[mu | y] = sum(y) / (n + 1/100)
    clear_compile_cache()
    s = SamplerSettings(draws=400, tune=300, chains=2, seed=3)
    y1, y2 = np.full(20, 1.0), np.full(20, 5.0)
    r1 = fit(_model(y1), settings=s, key="toy")
    r2 = fit(_model(y2), settings=s, key="toy")  # same structure key, new model object, no data=
    m1 = float(r1.idata.posterior["mu"].mean())
    m2 = float(r2.idata.posterior["mu"].mean())
    assert m1 == pytest.approx(20 / 20.01, abs=0.05)
    assert m2 == pytest.approx(100 / 20.01, abs=0.1)
    r3 = fit(_model(y2), settings=s, key="toy")
    np.testing.assert_array_equal(r2.idata.posterior["mu"].values, r3.idata.posterior["mu"].values)
    r4 = fit(_model(y1), settings=s, key="toy", data={"y_obs": y2})
    assert float(r4.idata.posterior["mu"].mean()) == pytest.approx(m2, abs=1e-12)


def test_light_trace_holds_what_nutpie_converts_for_the_same_seed():
    """fit(light=True) reads nutpie's Arrow trace itself: the same posterior draws, dims and
    coords as nutpie's own conversion (the reference) for the same seed, and the same divergence
    and energy statistics; nothing else."""
    from nutpie_models import _data
    from nutpie_models import _model as small_model

    clear_compile_cache()
    m = small_model(*_data())
    s = SamplerSettings(draws=60, tune=60, chains=2, seed=5, target_accept=0.99)
    full = fit(m, settings=s, key="light-toy", retry=False, attach_data=False)
    light = fit(m, settings=s, key="light-toy", retry=False, attach_data=False, light=True)
    p_full, p_light = full.idata["posterior"], light.idata["posterior"]
    assert set(p_light.data_vars) == set(p_full.data_vars) == {"z", "s", "b", "sigma"}
    for v in p_full.data_vars:
        assert p_light[v].dims == p_full[v].dims
        np.testing.assert_array_equal(p_light[v].values, p_full[v].values)
    assert list(p_light["z"].coords["g"].values) == list(p_full["z"].coords["g"].values)
    assert p_light.sizes == {"chain": 2, "draw": 60, "g": 3}
    st_full, st_light = full.idata["sample_stats"], light.idata["sample_stats"]
    assert set(st_light.data_vars) == {"diverging", "energy"}
    for v in ("diverging", "energy"):
        np.testing.assert_array_equal(st_light[v].values, st_full[v].values)
    assert light.report.divergences == full.report.divergences
    assert light.report.r_hat_max == pytest.approx(full.report.r_hat_max, rel=1e-12)
