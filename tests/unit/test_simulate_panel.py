"""simulate_staggered_panel: the truth it returns is the truth in the data (synthetic)."""

from __future__ import annotations

import numpy as np
import pytest

from bayesres.errors import SpecError
from bayesres.simulate.panel import simulate_staggered_panel

KW = dict(n_units=60, n_periods=8, cohorts={0: 20, 4: 15, 6: 15, 8: 10},
          tiers={"a": 20, "b": 25, "c": 15})


def _imputation(df):
    """Borusyak-Jaravel-Spiess: unit + period FE fitted on untreated cells, tau = y - y0_hat."""
    units = np.sort(df["unit"].unique())
    periods = np.sort(df["period"].unique())
    ui = np.searchsorted(units, df["unit"])
    ti = np.searchsorted(periods, df["period"])
    x = np.zeros((len(df), len(units) + len(periods) - 1))
    x[np.arange(len(df)), ui] = 1.0
    mask = ti > 0
    x[np.flatnonzero(mask), len(units) + ti[mask] - 1] = 1.0
    un = df["treated"].to_numpy() == 0
    beta = np.linalg.lstsq(x[un], df["y"].to_numpy()[un], rcond=None)[0]
    return df["y"].to_numpy() - x @ beta


def test_noise_free_imputation_recovers_truth_exactly():
    df, truth = simulate_staggered_panel(**KW, seed=7, sigma_noise=0.0)
    tau_hat = _imputation(df)
    tr = df["treated"].to_numpy() == 1
    np.testing.assert_allclose(tau_hat[tr], df["tau"].to_numpy()[tr], atol=1e-9)
    assert np.mean(tau_hat[tr]) == pytest.approx(truth.att_simple, abs=1e-9)


def test_default_effects_closed_form_and_twfe_bias():
    df, truth = simulate_staggered_panel(**KW, seed=1, sigma_noise=0.0)
    # default: tau = mult_k (1 + 0.5 e) + 0.25 * (#later cohorts); mult = 0.5 / 1.0 / 1.5
    c = truth.cells.set_index(["cohort", "event_time", "tier"])["tau"]
    assert c[(4, 0, "a")] == pytest.approx(0.5 * 1.0 + 0.5)
    assert c[(6, 1, "b")] == pytest.approx(1.0 * 1.5 + 0.25)
    assert c[(8, 0, "c")] == pytest.approx(1.5)
    tr = df[df["treated"] == 1]
    assert truth.att_simple == pytest.approx(tr["tau"].mean())
    assert truth.att_by_tier["c"] == pytest.approx(tr.loc[tr["tier"] == "c", "tau"].mean())
    # growing effects make static TWFE differ from the simple ATT
    from bayesres.simulate.ecommerce import twfe_within

    b = twfe_within(df["y"].to_numpy(), df[["treated"]].to_numpy(float), 60, 8)[0]
    assert abs(b - truth.att_simple) > 0.1


def test_design_and_determinism():
    a, ta = simulate_staggered_panel(**KW, seed=3, rho=0.5)
    b, tb = simulate_staggered_panel(**KW, seed=3, rho=0.5)
    assert a.equals(b) and ta.cells.equals(tb.cells)
    assert len(a) == 60 * 8
    assert (a.groupby("unit")["cohort"].nunique() == 1).all()
    assert a.drop_duplicates("unit")["cohort"].value_counts().to_dict() == {0: 20, 4: 15, 6: 15,
                                                                            8: 10}
    np.testing.assert_array_equal(a["treated"], ((a["cohort"] > 0)
                                                 & (a["period"] >= a["cohort"])).astype(int))
    np.testing.assert_allclose(a["y"], a["y0"] + a["tau"])
    assert (a.loc[a["treated"] == 0, "tau"] == 0).all()


def test_bad_specs_raise():
    with pytest.raises(SpecError):
        simulate_staggered_panel(n_units=10, n_periods=5, cohorts={0: 5, 3: 4}, tiers={"a": 10},
                                 seed=0)
    with pytest.raises(SpecError):
        simulate_staggered_panel(n_units=10, n_periods=5, cohorts={0: 5, 1: 5}, tiers={"a": 10},
                                 seed=0)
