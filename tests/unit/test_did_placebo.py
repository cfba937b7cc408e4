"""Vectorised staggered placebo: every draw equals pyfixest's TWFE on the reassigned panel.

Reference: pyfixest ``feols(y ~ D [+ X] | unit + period)`` refitted on each reassigned panel (an
implementation independent of the FWL kernel), to 1e-10.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bayesres.did.placebo import placebo, plot_placebo
from bayesres.simulate.panel import simulate_staggered_panel
from bayesres.validate import validate_panel


def _frame(seed: int = 5) -> pd.DataFrame:
    df, _ = simulate_staggered_panel(
        n_units=40,
        n_periods=6,
        cohorts={0: 16, 3: 8, 4: 8, 6: 8},
        tiers={"a": 20, "b": 20},
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    df["x1"] = rng.normal(size=len(df))
    df["x2"] = rng.normal(size=len(df)) + 0.3 * df["treated"]
    return df


def _panel(df: pd.DataFrame, controls=()):
    return validate_panel(
        df,
        source="sim",
        unit="unit",
        time="period",
        cohort="cohort",
        outcome="y",
        controls=controls,
    )


def _pyfixest_beta(panel, cohorts_by_code: np.ndarray, controls=()) -> float:
    import pyfixest as pf

    f = panel.frame.copy()
    codes = pd.factorize(f["unit"], sort=True)[0]
    g = cohorts_by_code[codes]
    f["D"] = ((g > 0) & (f["period"].to_numpy() >= g)).astype(float)
    rhs = " + ".join(["D", *controls])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(pf.feols(f"y ~ {rhs} | unit + period", data=f).coef()["D"])


@pytest.mark.parametrize(
    ("controls", "unbalanced"), [((), False), (("x1", "x2"), False), (("x1",), True)]
)
def test_each_draw_equals_pyfixest_twfe(controls, unbalanced):
    df = _frame()
    if unbalanced:
        df = df.drop(index=[3, 17, 50, 101]).reset_index(drop=True)
    panel = _panel(df, controls)
    assert panel.balanced is (not unbalanced)
    res = placebo(panel, draws=50, seed=3, controls=controls, keep_cohorts=True)
    for s in (0, 1, 49):
        ref = _pyfixest_beta(panel, res.cohorts[s], controls)
        assert res.estimates[s] == pytest.approx(ref, abs=1e-10)
    real = pd.Series(panel.frame["cohort"].to_numpy(), panel.frame["unit"]).groupby(level=0).first()
    assert res.actual == pytest.approx(
        _pyfixest_beta(panel, real.sort_index().to_numpy(), controls), abs=1e-10
    )


def test_reassignment_keeps_cohort_sizes_and_is_seeded():
    panel = _panel(_frame())
    a = placebo(panel, draws=30, seed=7, keep_cohorts=True)
    b = placebo(panel, draws=30, seed=7, keep_cohorts=True)
    c = placebo(panel, draws=30, seed=8)
    np.testing.assert_array_equal(a.estimates, b.estimates)
    assert not np.array_equal(a.estimates, c.estimates)
    sizes = {0: 16, 3: 8, 4: 8, 6: 8}
    for row in a.cohorts:
        vals, counts = np.unique(row, return_counts=True)
        assert dict(zip(vals.tolist(), counts.tolist(), strict=True)) == sizes
    # draws differ from each other (not the same permutation repeated)
    assert len({tuple(r) for r in a.cohorts}) == 30


def test_p_value_definition_and_null_centring():
    panel = _panel(_frame())
    res = placebo(panel, draws=400, seed=1)
    assert res.draws == 400 and res.seconds >= 0
    assert res.p_value == np.mean(np.abs(res.estimates) >= abs(res.actual))
    # the simulated effect (default tau >= 0.5) is far from the permutation distribution
    assert res.actual > 0.5 and res.p_value < 0.01
    assert abs(res.estimates.mean()) < 3 * res.estimates.std() / np.sqrt(res.draws) + 0.05


def test_plot_placebo_returns_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = placebo(_panel(_frame()), draws=60, seed=0)
    fig = plot_placebo(res)
    ax = fig.axes[0]
    assert any(np.allclose(line.get_xdata(), res.actual) for line in ax.get_lines())
    plt.close(fig)
