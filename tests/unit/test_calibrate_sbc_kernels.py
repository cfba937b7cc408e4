"""SBC kernels: ranks, thinning, the Säilynoja et al. (2022) gamma test and its band.

References: the rank of theta* among L draws is #draws below it (Talts et al. 2018, eq. 1); under
uniform ranks N F(i / (L+1)) ~ Binomial(N, i / (L+1)) (Säilynoja et al. 2022, section 2), so gamma
is recomputed here by a plain loop over the definition with scipy's binomial.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayesres.calibrate import SBC_COLUMNS, list_models
from bayesres.calibrate.sbc import (
    gamma_null,
    gamma_statistic,
    sbc_ranks,
    simultaneous_band,
    thin_draws,
    uniformity_table,
)


def test_rank_extremes_and_ties():
    rng = np.random.default_rng(0)
    draws = np.arange(10.0)
    assert sbc_ranks(-1.0, draws, rng) == 0
    assert sbc_ranks(99.0, draws, rng) == 10
    assert sbc_ranks(4.5, draws, rng) == 5
    tied = [sbc_ranks(1.0, np.ones(9), rng) for _ in range(2000)]  # ties: uniform on 0..9
    counts = np.bincount(tied, minlength=10)
    assert counts.min() > 120 and counts.max() < 280


def test_thin_spreads_over_chains():
    x = np.arange(2 * 100, dtype=float).reshape(2, 100)
    kept = thin_draws(x, 10)
    assert kept.shape == (10,)
    assert kept[0] == 0 and kept[4] == 99 and kept[5] == 100 and kept[-1] == 199
    with pytest.raises(ValueError):
        thin_draws(x, 500)


def _gamma_loop(ranks, n_ranks):
    n = len(ranks)
    best = np.inf
    for i in range(1, n_ranks):
        z = i / n_ranks
        k = sum(r < i for r in ranks)
        best = min(best, 2 * min(stats.binom.cdf(k, n, z), 1 - stats.binom.cdf(k - 1, n, z)))
    return best


def test_gamma_matches_definition():
    rng = np.random.default_rng(1)
    for n_ranks, n in [(5, 10), (20, 50), (100, 37)]:
        r = rng.integers(0, n_ranks, n)
        assert gamma_statistic(r, n_ranks) == pytest.approx(
            _gamma_loop(list(r), n_ranks), rel=1e-12
        )


def test_null_pvalues_are_uniform_and_band_holds():
    # under uniform ranks the test rejects at about its level (simulated: 300 studies)
    rng = np.random.default_rng(2)
    n, n_ranks = 60, 20
    null = gamma_null(n, n_ranks, seed=5)
    obs = gamma_statistic(rng.integers(0, n_ranks, (300, n)), n_ranks)
    p = (np.sum(null[None, :] <= obs[:, None], axis=1) + 1) / (len(null) + 1)
    assert 0.02 < np.mean(p < 0.05) < 0.09
    # simultaneous band = the event gamma > gamma_alpha (same simulations)
    z, lo, hi = simultaneous_band(n, n_ranks, null=null)
    assert np.all(lo <= z) and np.all(z <= hi)


def test_uniformity_table_detects_nonuniform_ranks():
    rng = np.random.default_rng(3)
    ok = rng.integers(0, 40, 100)
    over = np.clip(
        rng.integers(0, 40, 100) // 2 + 10, 0, 39
    )  # too concentrated: overdispersed post.
    shifted = np.clip(rng.integers(0, 40, 100) + 12, 0, 39)  # biased
    t = uniformity_table({"ok": ok, "over": over, "shifted": shifted}, n_ranks=40)
    assert list(t.columns) == SBC_COLUMNS
    row = t.set_index("quantity")
    assert bool(row.loc["ok", "passed"])
    assert not bool(row.loc["over", "passed"]) and row.loc["over", "p_value"] < 0.001
    assert not bool(row.loc["shifted", "passed"]) and row.loc["shifted", "p_value"] < 0.001
    assert (t["n_sims"] == 100).all()


def test_quantities_include_derived_and_loglik():
    from bayesres.calibrate.models import get_model

    for name in ("eight_schools", "regression_hier_normal"):
        cm = get_model(name)
        params, data = cm.simulate(np.random.default_rng(0))
        q = cm.quantities(params, data)
        assert "loglik" in q and all(np.ndim(v) == 0 for v in q.values())
        assert np.isfinite(list(q.values())).all()
    listed = [m.name for m in list_models()]
    assert "eight_schools" in listed and "eight_schools_misspecified" not in listed


def test_eight_schools_loglik_closed_form():
    from bayesres.calibrate.models import get_model

    cm = get_model("eight_schools")
    theta = np.arange(8.0)
    y = theta + 1.0
    sig = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
    q = cm.quantities({"mu": 0.0, "tau": 1.0, "theta": theta}, {"y_obs": y})
    assert q["loglik"] == pytest.approx(stats.norm.logpdf(y, theta, sig).sum(), rel=1e-12)
    assert q["theta_range"] == pytest.approx(7.0)
