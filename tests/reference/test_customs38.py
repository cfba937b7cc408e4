"""The bundled SYNTHETIC ``customs38`` replica against paper 001's published tables.

Reference values are read from data/published/seed001_*.csv (transcribed from paper 001, Tables 1-4),
never from the generator. Checks run on the committed CSVs as loaded back. OLS is plain numpy
least squares here, independent of the generator's helpers.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesres.index.entropy import entropy_weights
from bayesres.simulate import customs38

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(DATA / "customs38.csv")


@pytest.fixture(scope="module")
def monthly() -> pd.DataFrame:
    return pd.read_csv(DATA / "customs38_monthly.csv")


@pytest.fixture(scope="module")
def spec() -> pd.DataFrame:
    return pd.read_csv(DATA / "customs38_indicators.csv")


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return pd.read_csv(DATA / "published" / "seed001_regressions.csv")


def _pub(published: pd.DataFrame, table_label: str, term: str) -> pd.Series:
    row = published[(published["table"] == table_label) & (published["term"] == term)]
    assert len(row) == 1
    return row.iloc[0]


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    beta = np.linalg.solve(x.T @ x, x.T @ y)
    resid = y - x @ beta
    return beta, 1.0 - resid @ resid / np.sum((y - y.mean()) ** 2)


def _design(table: pd.DataFrame, spec: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    directions = np.where(spec["direction"] == "positive", 1.0, -1.0)
    ewm = entropy_weights(table[spec["indicator"]].to_numpy(dtype=float), directions)
    n = len(table)
    x = np.column_stack([np.ones(n), np.log(ewm.scores), np.log(table["nonag_density"])])
    return x, ewm.weights


def _ln_ratio(table: pd.DataFrame) -> np.ndarray:
    e15, e19, e20 = (table[f"exports_{y}"].to_numpy(dtype=float) for y in (2015, 2019, 2020))
    cagr = (e19 / e15) ** 0.25 - 1.0
    return np.log(e20 / (e19 * (1.0 + cagr)))


def test_entropy_weights_reproduce_table1(table, spec):
    pub = pd.read_csv(DATA / "published" / "seed001_index_weights.csv").set_index("indicator")
    expected = pub.loc[spec["label"], "weight"].to_numpy()
    assert np.array_equal(spec["published_weight"].to_numpy(), expected)
    assert np.array_equal(
        spec["direction"].to_numpy(), pub.loc[spec["label"], "direction"].to_numpy()
    )
    assert np.array_equal(
        spec["dimension"].to_numpy(), pub.loc[spec["label"], "dimension"].to_numpy()
    )
    _, w = _design(table, spec)
    # Table 1's weights sum to 1.0000001, so the best possible match is off by ~1.5e-8
    assert np.max(np.abs(w - expected)) < 1e-6


def test_ols_reproduces_table2(table, spec, published):
    x, _ = _design(table, spec)
    beta, r2 = _ols(_ln_ratio(table), x)
    label = "2 (baseline)"
    expected = [_pub(published, label, t)["coef"] for t in ("Constant", "LnRescity", "LnX")]
    assert np.allclose(beta, expected, rtol=0, atol=1e-6)
    assert r2 == pytest.approx(_pub(published, label, "LnX")["r2"], abs=1e-6)
    assert len(table) == _pub(published, label, "LnX")["n"] == 38


def test_slope_dummy_regression_has_table4_interactions_and_signs(table, spec, published):
    x, _ = _design(table, spec)
    d1 = (table["tier"] == "first").to_numpy(float)
    d2 = (table["tier"] == "new_first").to_numpy(float)
    beta, _ = _ols(_ln_ratio(table), np.column_stack([x, x[:, 1] * d1, x[:, 1] * d2]))
    terms = ["Constant", "LnRescity", "LnX", "FirstTier x LnRescity", "NewFirstTier x LnRescity"]
    expected = np.array([_pub(published, "4 (heterogeneity)", t)["coef"] for t in terms])
    assert np.array_equal(np.sign(beta), np.sign(expected))
    assert np.allclose(beta[3:], expected[3:], rtol=0, atol=1e-6)


def test_selection_rule_gives_38_cities_and_yicai_tiers(table):
    facts = DATA / "facts"
    districts = pd.read_csv(
        facts / "customs_direct_districts.csv", dtype={"customs_area_code": str}
    )
    tiers = pd.read_csv(facts / "city_tiers_yicai.csv", dtype={"tier": str})
    assert len(districts) == 42
    cities = customs38.select_cities(districts, tiers)
    assert len(cities) == 38 and cities["city_zh"].is_unique
    assert cities["tier"].value_counts().to_dict() == {"other": 22, "new_first": 12, "first": 4}
    assert set(cities.loc[cities["tier"] == "first", "city"]) == {
        "Beijing",
        "Shanghai",
        "Guangzhou",
        "Shenzhen",
    }
    assert not {"Manzhouli", "Lhasa", "Xining"} & set(cities["city"])
    pd.testing.assert_frame_equal(
        cities.reset_index(drop=True), table[["city", "city_zh", "province", "tier"]]
    )


def test_exports_positive_and_largest_in_shanghai_shenzhen(table):
    ex = table[[f"exports_{y}" for y in range(2015, 2021)]].to_numpy()
    assert (ex > 0).all()
    top2 = set(table.nlargest(2, "exports_2019")["city"])
    assert top2 == {"Shanghai", "Shenzhen"}


def test_monthly_sums_equal_yearly_totals(table, monthly):
    assert len(monthly) == 38 * 84
    assert monthly["month"].min() == "2015-01" and monthly["month"].max() == "2021-12"
    m = monthly.assign(year=monthly["month"].str.slice(0, 4).astype(int))
    sums = m[m["year"] <= 2020].pivot_table(
        index="city", columns="year", values="exports", aggfunc="sum"
    )
    yearly = table.set_index("city")[[f"exports_{y}" for y in range(2015, 2021)]]
    np.testing.assert_allclose(sums.loc[yearly.index].to_numpy(), yearly.to_numpy(), rtol=1e-9)


def _ratios(monthly: pd.DataFrame, city: str) -> np.ndarray:
    """Independent restatement of the paper's rule: actual / (same month 2019 x (1 + CAGR))."""
    g = monthly[monthly["city"] == city].sort_values("month")
    ex = g["exports"].to_numpy().reshape(7, 12)  # 2015..2021 x months
    cagr = (ex[4].sum() / ex[0].sum()) ** 0.25 - 1.0
    return (ex[5:] / (ex[4] * (1.0 + cagr))).ravel()  # 24 months, 2020-01..2021-12


def test_exactly_one_city_is_right_censored(table, spec, monthly, published):
    rec = customs38.months_to_recovery(monthly)
    assert rec["censored"].sum() == 1
    label = "3 (robustness 2)"
    assert (~rec["censored"]).sum() == _pub(published, label, "LnX")["n"] == 37
    for city in rec["city"]:
        r = _ratios(monthly, city)
        start = int(np.flatnonzero(r[:12] < 1)[0])
        runs = [j for j in range(start + 1, 22) if (r[j : j + 3] > 1).all()]
        row = rec.set_index("city").loc[city]
        if row["censored"]:
            assert not runs and (r > 1).any()  # above 1 somewhere, never 3 months running
        else:
            assert row["months"] == runs[0] - start
    # stretch goal: the months-to-recovery slope lands near Table 3's
    x, _ = _design(table, spec)
    rec = rec.set_index("city").loc[table["city"]]
    keep = ~rec["censored"].to_numpy()
    beta, _ = _ols(rec["months"].to_numpy()[keep], x[keep])
    assert beta[1] == pytest.approx(_pub(published, label, "LnRescity")["coef"], abs=0.05)


def test_generator_is_deterministic_and_matches_committed_files(table, monthly, spec):
    rep = customs38.generate(seed=1)
    for new, old in ((rep.cities, table), (rep.monthly, monthly), (rep.indicators, spec)):
        assert list(new.columns) == list(old.columns)
        num = old.select_dtypes("number").columns
        pd.testing.assert_frame_equal(new.drop(columns=num), old.drop(columns=num))
        np.testing.assert_allclose(new[num].to_numpy(float), old[num].to_numpy(float), rtol=1e-9)
    again = customs38.generate(seed=1)
    assert again.cities.equals(rep.cities) and again.monthly.equals(rep.monthly)
    other = customs38.generate(seed=2)
    assert not np.allclose(other.cities["exports_2020"], rep.cities["exports_2020"])


@pytest.mark.parametrize("name", ["customs38", "customs38_monthly"])
def test_datasheets_describe_the_files(name):
    sheet = tomllib.loads((DATA / f"{name}.toml").read_text(encoding="utf-8"))
    df = pd.read_csv(DATA / sheet["file"])
    assert sheet["name"] == name and sheet["kind"] == "synthetic"
    assert sheet["rows"] == len(df)
    assert set(sheet["columns"]) == set(df.columns)
    assert all({"unit", "description"} <= set(c) for c in sheet["columns"].values())
    assert sheet["generator"] == "bayesres.simulate.customs38:generate" and sheet["seed"] == 1
    assert "This is a synthetic replica consistent with the published numbers" in sheet["how_made"]
    assert sheet["true_parameters"]["seed"] == 1
