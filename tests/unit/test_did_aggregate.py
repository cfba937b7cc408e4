"""Aggregation of ATT draws: the did::aggte formulas, exactly, on fake draws.

Reference values: R ``did`` 2.5 on mpdta (never-treated control, no covariates), ATT(g,t) table
and aggte aggregates as copied in methods.md section 5.1 (from csdid's r_ref/ref_attgt.csv and
ref_aggte.csv); dCDH weights of TWFE on mpdta from methods.md section 3.1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesres.did.aggregate import (
    aggregate_draws,
    dcdh_obs_weights,
    simultaneous_band,
    tier_contrasts,
)

# R did: ATT(g,t) and cohort sizes from tests/references.py (methods.md 5.1)
from references import MPDTA_ATT_GT as R_ATT_GT
from references import MPDTA_COHORT_SIZES as N_G


def _r_cells() -> tuple[np.ndarray, pd.DataFrame]:
    keys = list(R_ATT_GT)
    cells = pd.DataFrame(
        {
            "cohort": [g for g, _ in keys],
            "event": [t - g for g, t in keys],
            "tier": "all",
            "n": [N_G[g] for g, _ in keys],
        }
    )
    return np.array([R_ATT_GT[k] for k in keys])[None, :], cells


def test_r_att_gt_table_as_one_draw_gives_the_aggte_values():
    tau, cells = _r_cells()
    q, _ = aggregate_draws(tau, cells)
    # methods.md 5.1, ref_aggte.csv (never-treated)
    assert q["ATT"][0] == pytest.approx(-0.0399513, abs=5e-7)
    assert q["ATT_group"][0] == pytest.approx(-0.0310183, abs=5e-7)
    assert q["ATT_dynamic"][0] == pytest.approx(-0.0772398, abs=5e-7)
    assert q["ATT_calendar"][0] == pytest.approx(-0.0417004, abs=5e-7)
    for g, v in {2004: -0.0797491, 2006: -0.0229095, 2007: -0.0260544}.items():
        assert q[f"ATT_group[{g}]"][0] == pytest.approx(v, abs=5e-7)
    dyn = {-3: 0.0305067, -2: -0.0005631, -1: -0.0244587, 0: -0.0199318, 1: -0.0509574}
    dyn |= {2: -0.1372587, 3: -0.1008114}
    for e, v in dyn.items():
        assert q[f"ATT_dynamic[{e}]"][0] == pytest.approx(v, abs=5e-7)
    cal = {2004: -0.0105032, 2005: -0.0704232, 2006: -0.0488160, 2007: -0.0370593}
    for t, v in cal.items():
        assert q[f"ATT_calendar[{t}]"][0] == pytest.approx(v, abs=5e-7)
    assert q["ATT_gt[2006,2004]"][0] == pytest.approx(0.0065201124, abs=1e-12)


def test_aggregates_of_draws_are_linear_in_the_cells():
    """Mean over draws of an aggregate = aggregate of the mean cell draws (exact, linear)."""
    tau0, cells = _r_cells()
    rng = np.random.default_rng(0)
    draws = tau0 + 0.05 * rng.standard_normal((2, 300, tau0.shape[1]))
    q, _ = aggregate_draws(draws, cells)
    q_mean, _ = aggregate_draws(draws.mean(axis=(0, 1)), cells)
    for name, v in q.items():
        assert v.shape == (2, 300)
        assert v.mean() == pytest.approx(float(q_mean[name]), abs=1e-12)


def test_tiers_split_the_cells_and_pool_back_to_the_cohort_cells():
    """Two equal-sized tiers, b = a + 0.01 in every cell: pooled cells and tier ATTs by hand."""
    tau0, cells = _r_cells()
    split = pd.concat([cells.assign(tier="a"), cells.assign(tier="b")])
    tau = np.c_[tau0, tau0 + 0.01]
    q, contrasts = aggregate_draws(tau, split.reset_index(drop=True), tiers=["a", "b"], rope=0.02)
    # tier b is tier a shifted by 0.01 in every cell: the difference is exactly -0.01
    assert q["ATT_tier_diff[a-b]"][0] == pytest.approx(-0.01, abs=1e-12)
    assert contrasts.loc[0, "p_gt_0"] == 0.0 and contrasts.loc[0, "p_in_rope"] == 1.0
    # hand computation of the pooled (2004, 2004) cell: (20 x + 20 (x + 0.01)) / 40
    assert q["ATT_gt[2004,2004]"][0] == pytest.approx(-0.0105032462 + 0.005, abs=1e-12)


def test_tier_contrast_probabilities():
    d = np.column_stack([np.linspace(-1, 3, 401), np.zeros(401)])
    names, draws, tab = tier_contrasts(d, ["x", "y"], rope=0.5)
    assert names == ["x-y"]
    # closed form on the uniform grid: 300 of 401 points > 0, 99 strictly inside (-0.5, 0.5) (step 0.01)
    assert tab.loc[0, "p_gt_0"] == pytest.approx(300 / 401)
    assert tab.loc[0, "p_in_rope"] == pytest.approx(99 / 401)


def test_dcdh_weights_match_methods_section_3_1_on_mpdta():
    from bayesres import datasets

    df = datasets.load("mpdta")
    g = df["first.treat"].to_numpy()
    t = df["year"].to_numpy()
    d = ((g > 0) & (t >= g)).astype(float)
    w = dcdh_obs_weights(df["countyreal"].to_numpy(), t, d)
    cell = pd.Series(w[d > 0]).groupby([g[d > 0], t[d > 0]]).sum()
    ref = {
        (2004, 2004): 0.0457,
        (2004, 2005): 0.0457,
        (2004, 2006): 0.0325,
        (2004, 2007): -0.0109,
        (2006, 2006): 0.1973,
        (2006, 2007): 0.1106,
        (2007, 2007): 0.5790,
    }
    for k, v in ref.items():
        assert cell[k] == pytest.approx(v, abs=6e-5)
    assert w.sum() == pytest.approx(1.0)
    # exact identity (methods 3.1): sum w tau_BJS = beta_TWFE = -0.03655 with the 5.1 BJS cells
    bjs = {(2004, 2004): -0.0194, (2004, 2005): -0.0783, (2004, 2006): -0.1361}
    bjs |= {(2004, 2007): -0.1047, (2006, 2006): 0.0025, (2006, 2007): -0.0392}
    bjs |= {(2007, 2007): -0.0431}
    assert sum(cell[k] * v for k, v in bjs.items()) == pytest.approx(-0.03655, abs=2e-4)


def test_simultaneous_band_is_wider_than_pointwise_and_covers_prob_of_paths():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4000, 6))
    lo, hi, crit = simultaneous_band(x, prob=0.95)
    # independent columns: the max-|z| quantile is the Sidak value, about 2.63 for 6 columns
    assert crit == pytest.approx(2.63, abs=0.08)
    inside = np.all((x >= lo) & (x <= hi), axis=1).mean()
    assert inside == pytest.approx(0.95, abs=0.01)


def test_dcdh_weights_with_controls_equal_dense_least_squares():
    """The sparse fixed-effect projection gives the weights of a dense dummy-matrix lstsq
    (numpy's, the reference) on an unbalanced panel with controls."""
    rng = np.random.default_rng(4)
    unit = np.repeat(np.arange(30), 6)
    time = np.tile(np.arange(6), 30)
    keep = rng.random(len(unit)) > 0.1  # unbalanced
    unit, time = unit[keep], time[keep]
    first = rng.choice([0, 3, 4, 5], size=30)[unit]
    d = ((first > 0) & (time >= first)).astype(float)
    x = rng.normal(size=(len(d), 2))
    dense = np.column_stack([np.eye(30)[unit], np.eye(6)[time][:, 1:], x])
    resid = d - dense @ np.linalg.lstsq(dense, d, rcond=None)[0]
    ref = np.where(d > 0, resid, 0.0)
    ref /= ref.sum()
    np.testing.assert_allclose(dcdh_obs_weights(unit, time, d, x), ref, atol=1e-12)
