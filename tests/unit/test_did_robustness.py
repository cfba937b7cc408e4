"""003 robustness set on a small simulated panel: each specification does what it says.

References: pyfixest TWFE on hand-built frames (lagged treatment, extra policy control), numpy
quantiles (winsorising), hand-computed matching weights on a 5-unit example (PSM), an exact
noise-free panel (in-time placebo: the fitted coefficient is the planted anticipation effect).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bayesres.did.robustness import (
    in_time_placebo,
    lagged_treatment,
    other_policy,
    propensity_scores,
    psm_did,
    psm_weights,
    robustness_set,
    winsorize,
)
from bayesres.simulate.panel import simulate_staggered_panel
from bayesres.validate import validate_panel

N_UNITS, N_T = 60, 6


@pytest.fixture(scope="module")
def panel():
    df, _ = simulate_staggered_panel(
        n_units=N_UNITS,
        n_periods=N_T,
        cohorts={0: 30, 2014: 10, 2015: 10, 2016: 10},
        tiers={"a": 30, "b": 30},
        seed=11,
        first_period=2012,
    )
    df = df.rename(columns={"period": "year"})
    rng = np.random.default_rng(11)
    u = df["unit"].to_numpy()
    treated_unit = (df["cohort"] > 0).to_numpy()
    df["agg"] = rng.normal(size=len(df)) + 0.8 * treated_unit  # imbalance for the logit
    df["open"] = rng.normal(size=len(df))
    df["size_class"] = np.where(u % 2 == 0, "large", "small")
    df["central"] = (u % 5 == 0).astype(int)
    df["resource"] = (u % 3 == 0).astype(int)
    bb = np.where(u % 4 == 0, 2014, 0)
    df["broadband_did"] = ((bb > 0) & (df["year"] >= bb)).astype(int)
    df["dig"] = 0.1 * df["y"] + rng.normal(size=len(df))
    df.loc[df.index[:3], "y"] = [40.0, -40.0, 35.0]  # outliers for the winsorising test
    return validate_panel(
        df,
        source="sim",
        unit="unit",
        time="year",
        cohort="cohort",
        outcome="y",
        controls=("agg", "open"),
    )


def _pf(fml, data):
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data=data, vcov={"CRV1": "unit"})


def test_psm_weights_hand_example():
    # treated at 0.50 and 0.90; controls at 0.10, 0.45, 0.52, 0.60
    ps = np.array([0.50, 0.90, 0.10, 0.45, 0.52, 0.60])
    tr = np.array([1, 1, 0, 0, 0, 0])
    # 0.90 is above the largest control score: off common support
    np.testing.assert_allclose(psm_weights(ps, tr, method="nearest", k=2), [1, 0, 0, 0.5, 0.5, 0])
    np.testing.assert_allclose(
        psm_weights(ps, tr, method="radius", caliper=0.05), [1, 0, 0, 0.5, 0.5, 0]
    )
    # Epanechnikov, bandwidth 0.06: |d| = 0.05, 0.02, 0.10 -> K = 0.75 (1 - (d / h)^2)
    k = 0.75 * (1 - (np.array([0.05, 0.02]) / 0.06) ** 2)
    np.testing.assert_allclose(
        psm_weights(ps, tr, method="kernel", bandwidth=0.06), [1, 0, 0, *(k / k.sum()), 0]
    )


@pytest.mark.parametrize("method", ["nearest", "radius", "kernel"])
def test_psm_did_runs_on_matched_units(panel, method):
    ps = propensity_scores(panel)
    assert len(ps) == N_UNITS and ps["pscore"].between(0, 1).all()
    out = psm_did(panel, method=method).set_index("quantity")
    n = int(out.loc["TWFE", "n"])
    assert n % N_T == 0 and 0 < n <= N_UNITS * N_T  # whole units kept
    assert np.isfinite(out.loc["TWFE", ["estimate", "std_error"]].astype(float)).all()
    assert out.loc["TWFE", "method"].startswith(f"PSM-DID {method}")


def test_psm_needs_covariates(panel):
    from bayesres.errors import SpecError

    with pytest.raises(SpecError, match="covariates"):
        propensity_scores(panel, controls=())


def test_lagged_treatment_drops_first_period_and_matches_pyfixest(panel):
    out = lagged_treatment(panel).set_index("quantity")
    assert out.loc["TWFE_lag[1]", "n"] == N_UNITS * (N_T - 1)
    f = panel.frame.sort_values(["unit", "year"]).copy()
    f["D"] = ((f["cohort"] > 0) & (f["year"] >= f["cohort"])).astype(float)
    f["LD"] = f.groupby("unit")["D"].shift(1)
    f = f.dropna(subset=["LD"])
    ref = _pf("y ~ LD + agg + open | unit + year", f)
    assert out.loc["TWFE_lag[1]", "estimate"] == pytest.approx(ref.coef()["LD"], abs=1e-10)
    assert out.loc["TWFE_lag[1]", "std_error"] == pytest.approx(ref.se()["LD"], abs=1e-10)


def test_other_policy_adds_the_dummy(panel):
    out = other_policy(panel, policy="broadband_did").set_index("quantity")
    f = panel.frame.assign(D=panel.treated)
    ref = _pf("y ~ D + agg + open + broadband_did | unit + year", f)
    assert out.loc["TWFE", "estimate"] == pytest.approx(ref.coef()["D"], abs=1e-10)
    assert out.loc["coef[broadband_did]", "estimate"] == pytest.approx(
        ref.coef()["broadband_did"], abs=1e-10
    )


@pytest.mark.parametrize("p", [0.01, 0.05])
def test_winsorize_clips_at_pooled_quantiles(panel, p):
    w = winsorize(panel, limits=p)
    for c in ("y", "agg", "open"):
        raw = panel.frame[c].to_numpy()
        lo, hi = np.quantile(raw, [p, 1 - p])  # numpy's default linear rule = pandas'
        got = w.frame[c].to_numpy()
        assert got.min() == pytest.approx(lo) and got.max() == pytest.approx(hi)
        inside = (raw >= lo) & (raw <= hi)
        np.testing.assert_array_equal(got[inside], raw[inside])
    assert panel.frame["y"].max() == 40.0  # the input panel is untouched


def test_robustness_set_rows_and_published_columns(panel):
    published = pd.DataFrame(
        {
            "table": [4, 5, 7],
            "column": [1, 5, 1],
            "term": ["DID", "L.DID", "DID"],
            "coef": [0.029, 0.019, 0.013],
            "t": [7.5, 4.8, 5.4],
            "n": [2480, 2232, 930],
        }
    )
    out = robustness_set(panel, published=published)
    keys = set(zip(out["table"], out["column"], out["term"], strict=True))
    for k in [
        (4, 1, "DID"),
        (4, 3, "DID"),
        (5, 1, "DID"),
        (5, 2, "DID"),
        (5, 3, "DID"),
        (5, 4, "DID"),
        (5, 4, "DID1 (broadband_did)"),
        (5, 5, "L.DID"),
        (5, 6, "DID"),
        (6, 1, "DID"),
        (7, 1, "DID"),
        (7, 2, "DID"),
        (7, 3, "DID"),
        (7, 4, "DID"),
        (7, 5, "DID"),
        (7, 6, "DID"),
    ]:
        assert k in keys, k
    assert not ((out["table"] == 6) & (out["column"] > 1)).any()  # inn / lab absent: skipped
    row = out.set_index(["table", "column", "term"])
    assert row.loc[(5, 5, "L.DID"), "published_coef"] == 0.019
    assert row.loc[(5, 5, "L.DID"), "n"] == N_UNITS * (N_T - 1)
    assert np.isnan(row.loc[(5, 1, "DID"), "published_coef"])
    assert row.loc[(7, 1, "DID"), "n"] + row.loc[(7, 2, "DID"), "n"] == N_UNITS * N_T


def _exact_panel(anticipation: float, effect: float):
    """Noise-free y = a_i + b_t + anticipation * 1{g-2 <= t < g} + effect * 1{t >= g}."""
    periods = np.arange(2010, 2020)
    cohorts = [0] * 6 + [2014] * 3 + [2016] * 3 + [2017] * 3
    rows = []
    for i, g in enumerate(cohorts):
        for t in periods:
            y = 0.3 * i + 0.1 * (t - 2010) ** 1.5
            if g and g - 2 <= t < g:
                y += anticipation
            if g and t >= g:
                y += effect
            rows.append({"unit": i, "year": int(t), "cohort": g, "y": y})
    return validate_panel(
        pd.DataFrame(rows), source="exact", unit="unit", time="year", cohort="cohort", outcome="y"
    )


def test_in_time_placebo_recovers_planted_anticipation_and_ignores_the_effect():
    # the fake treatment 2 periods early is exactly the anticipation dummy on the kept
    # (pre-adoption) rows, so TWFE fits the noise-free data exactly: coefficient = 0.7; the
    # real effect (5.0) sits on dropped rows and cannot leak in
    out = in_time_placebo(_exact_panel(0.7, 5.0), shift=2, controls=())
    row = out.loc[out["quantity"] == "TWFE_placebo_time[2]"].iloc[0]
    assert row["estimate"] == pytest.approx(0.7, abs=1e-8)
    # kept rows: 6 never-treated units x 10 years + each treated unit's years before adoption
    assert int(row["n"]) == 6 * 10 + 3 * (4 + 6 + 7)
    clean = in_time_placebo(_exact_panel(0.0, 5.0), shift=2, controls=())
    assert clean.loc[clean["quantity"] == "TWFE_placebo_time[2]", "estimate"].iloc[0] == (
        pytest.approx(0.0, abs=1e-8)
    )


def test_in_time_placebo_too_early_is_a_spec_error():
    from bayesres.errors import SpecError

    with pytest.raises(SpecError, match="pre-period"):
        in_time_placebo(_exact_panel(0.0, 1.0), shift=9, controls=())
