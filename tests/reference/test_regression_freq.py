"""Frequentist twins against independent references.

* OLS coefficients and HC0-HC3 SEs: statsmodels is called by freq.py, so the check here is our
  own bare-array HC2 (``hc2_cov``) against statsmodels to 1e-10.
* Bell-McCaffrey df: closed form for a two-group design (intercept + dummy). Under
  homoskedasticity the HC2 variance of the dummy coefficient is
  sigma^2 [chi2_{n1-1} / (n1 (n1-1)) + chi2_{n0-1} / (n0 (n0-1))], whose Satterthwaite df is
  (1/n1 + 1/n0)^2 / (1/(n1^2 (n1-1)) + 1/(n0^2 (n0-1))) (derived by hand; Imbens & Kolesár 2016).
* Table 2 / Table 4 of paper 001 on the bundled customs38 replica, read from data/published.
* Wild bootstrap p-value against the ``wildboottest`` package (Rademacher, restricted).
* Months to recovery against the datasheet's list and a hand-made series.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from bayesres.regression import freq, outcome
from bayesres.validate import validate_cross_section

DATA = Path(__file__).resolve().parents[2] / "data"


def _cs(df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return validate_cross_section(df, source="t", **kw)


@pytest.fixture(scope="module")
def customs():
    from bayesres import datasets
    from bayesres.index.entropy import entropy_weights
    from bayesres.validate import IndicatorSpec

    df = datasets.load("customs38")
    spec = IndicatorSpec.from_frame(datasets.indicators("customs38"))
    df["idx"] = entropy_weights(
        df[list(spec.indicators)].to_numpy(float), np.array(spec.directions)
    ).scores
    df["ratio"] = outcome.export_ratio(df)
    return _cs(
        df,
        outcome="ratio",
        predictor="idx",
        controls=["nonag_density"],
        unit="city",
        tier="tier",
        log=True,
        reference_tier="other",
    )


@pytest.fixture(scope="module")
def published():
    return pd.read_csv(DATA / "published" / "seed001_regressions.csv")


def test_hc2_matches_statsmodels():
    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(30), rng.normal(size=(30, 3))])
    y = x @ [1, 2, 0, -1] + rng.normal(size=30) * (1 + np.abs(x[:, 1]))
    r = sm.OLS(y, x).fit(cov_type="HC2")
    np.testing.assert_allclose(freq.hc2_cov(x, y - x @ r.params), r.cov_params(), rtol=1e-10)


def test_bell_mccaffrey_two_group_closed_form():
    n1, n0 = 4, 34
    x = np.column_stack([np.ones(n1 + n0), np.r_[np.ones(n1), np.zeros(n0)]])
    closed = (1 / n1 + 1 / n0) ** 2 / (1 / (n1**2 * (n1 - 1)) + 1 / (n0**2 * (n0 - 1)))
    assert freq.bell_mccaffrey_df(x, np.array([0.0, 1.0])) == pytest.approx(closed, rel=1e-10)
    assert closed < 4  # of the order of n1 - 1, far below n - k = 36


def test_table2_reproduced(customs, published):
    t = freq.pooled_table(customs).set_index("quantity")
    p = published[published["table"] == "2 (baseline)"].set_index("term")
    assert t.loc["slope", "estimate"] == pytest.approx(p.loc["LnRescity", "coef"], abs=1e-3)
    assert t.loc["coef[nonag_density]", "estimate"] == pytest.approx(p.loc["LnX", "coef"], abs=1e-3)
    assert t.loc["intercept", "estimate"] == pytest.approx(p.loc["Constant", "coef"], abs=1e-3)
    assert t["r2"].iloc[0] == pytest.approx(p["r2"].iloc[0], abs=1e-3)


def test_table4_interactions_reproduced(customs, published):
    t = freq.tier_table(customs, kind="slope_dummies").set_index("quantity")
    p = published[published["table"] == "4 (heterogeneity)"].set_index("term")
    assert t.loc["slope_diff[first-other]", "estimate"] == pytest.approx(
        p.loc["FirstTier x LnRescity", "coef"], abs=1e-4
    )
    assert t.loc["slope_diff[new_first-other]", "estimate"] == pytest.approx(
        p.loc["NewFirstTier x LnRescity", "coef"], abs=1e-5
    )
    # slope[first] is the linear combination b1 + b3 of the same fit
    assert t.loc["slope[first]", "estimate"] == pytest.approx(
        t.loc["slope[other]", "estimate"] + t.loc["slope_diff[first-other]", "estimate"], abs=1e-12
    )


def test_hc_ses_in_robust_table_match_statsmodels(customs):
    rt = freq.robust_table(customs, kind="pooled", boot_draws=0).set_index("quantity")
    x = np.column_stack([np.ones(customs.n), customs.x, customs.z])
    for h in freq.HC_TYPES:
        r = sm.OLS(customs.y, x).fit(cov_type=h)
        np.testing.assert_allclose(rt[f"se_{h}"].to_numpy(), r.bse, rtol=1e-10)
    np.testing.assert_allclose(rt["estimate"].to_numpy(), r.params, rtol=1e-10)


def test_wild_bootstrap_matches_wildboottest():
    wbt = pytest.importorskip("wildboottest.wildboottest")
    rng = np.random.default_rng(5)
    n = 38
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    y = x @ [0.5, 0.3, 0.0] + rng.normal(size=n) * (1 + 0.5 * np.abs(x[:, 1]))
    ours = freq.wild_bootstrap(y, x, 1, draws=9999, weights="rademacher", seed=1)
    ref = wbt.wildboottest(sm.OLS(y, x), B=9999, param="x1", seed=1, show=False)
    assert ours["p_value"] == pytest.approx(float(ref["p-value"].iloc[0]), abs=0.01)
    assert ours["lower"] < 0.3 < ours["upper"]


def test_rubin_closed_form():
    r = freq.rubin(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0]), df_complete=1e9)
    # W = 1, B = 1, T = 1 + 4/3; lambda = (4/3) / (7/3) = 4/7
    assert r["total"] == pytest.approx(7 / 3)
    assert r["fmi"] == pytest.approx(4 / 7)


def test_months_to_recovery_matches_datasheet():
    import tomllib

    from bayesres import datasets

    sheet = tomllib.loads((DATA / "customs38_monthly.toml").read_text())
    m = outcome.months_to_recovery(datasets.load("customs38_monthly"))
    assert (
        m["months"].dropna().astype(int).tolist()
        == sheet["true_parameters"]["recovery"]["months_uncensored"]
    )
    assert m.loc[m["censored"], "city"].tolist() == [
        sheet["true_parameters"]["recovery"]["censored_city"]
    ]


def test_recovery_kernel_hand_made():
    r = np.array([1.1, 0.8, 0.9, 1.2, 0.9, 1.1, 1.2, 1.3, 1.0])
    shock = np.array([True] * 6 + [False] * 3)
    assert outcome.recovery_kernel(r, shock, k=3) == (1, 5, False)
    assert outcome.recovery_kernel(r, shock, k=4) == (1, -1, True)
    # CAGR and mean growth
    e = np.array([[100.0, 110.0, 121.0, 133.1, 146.41]])
    assert outcome.average_growth(e)[0] == pytest.approx(0.1)
    assert outcome.forecast_exports(e, method="mean")[0] == pytest.approx(146.41 * 1.1)
