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
