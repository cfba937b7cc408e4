"""The bundled synthetic replica of paper 003 (data/ecommerce_panel.csv) against the paper.

Reference values: 003 Table 1 weights (data/published/seed003_index_weights.csv), Table 3 means
and sds (seed003_descriptives.csv), Table 4 col 6 TWFE DID = 0.016 (seed003_regressions.csv).
Everything is checked on the CSVs as loaded back, not on in-memory objects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesres.index.entropy import entropy_weights

DATA = Path(__file__).resolve().parents[2] / "data"
PUB = DATA / "published"


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pd.read_csv(DATA / "ecommerce_panel.csv", keep_default_na=False)


@pytest.fixture(scope="module")
def spec() -> pd.DataFrame:
    return pd.read_csv(DATA / "ecommerce_indicators.csv")


def test_indicator_spec_matches_table1(spec):
    pub = pd.read_csv(PUB / "seed003_index_weights.csv")
    assert len(spec) == 17
    assert spec["label"].tolist() == pub["indicator"].tolist()
    assert spec["dimension"].tolist() == pub["dimension"].tolist()
    assert spec["direction"].tolist() == pub["direction"].tolist()
    np.testing.assert_allclose(spec["published_weight"], pub["weight"], atol=0)


def test_pooled_ewm_weights_reproduce_table1_and_resi(panel, spec):
    x = panel[spec["indicator"]].to_numpy(dtype=float)
    dirs = np.where(spec["direction"] == "positive", 1, -1)
    res = entropy_weights(x, dirs, shift=1e-4)
    pub = pd.read_csv(PUB / "seed003_index_weights.csv")["weight"].to_numpy()
    assert np.max(np.abs(res.weights - pub / pub.sum())) < 1e-4
    np.testing.assert_allclose(panel["resi"].to_numpy(), res.scores, atol=1e-9)


def test_controls_match_table3_within_10_percent(panel):
    desc = pd.read_csv(PUB / "seed003_descriptives.csv").set_index("symbol")
    for col in ["agg", "open", "invest", "tec", "market"]:
        row = desc.loc[col.capitalize()]
        assert panel[col].mean() == pytest.approx(row["mean"], rel=0.10), col
        assert panel[col].std() == pytest.approx(row["sd"], rel=0.10), col


def test_twfe_with_controls_lands_on_table4_col6(panel):
    import pyfixest as pf
    pub = pd.read_csv(PUB / "seed003_regressions.csv")
    target = pub.query("table == 4 and column == 6 and term == 'DID'")["coef"].item()
    fit = pf.feols("resi ~ did + agg + open + invest + tec + market | city + year", data=panel,
                   vcov={"CRV1": "city"})
    assert abs(fit.coef()["did"] - target) <= 0.003


def test_design_balanced_absorbing_real_cohorts(panel):
    assert len(panel) == 2480
    assert panel["city"].nunique() == 248
    assert (panel.groupby("city")["year"].apply(sorted).map(tuple) == tuple(range(2012, 2022))).all()
    assert (panel.groupby("city")["cohort"].nunique() == 1).all()
    assert set(panel["cohort"]) <= {0, 2015, 2016, 2018, 2019, 2020}
    expect = np.where((panel["cohort"] > 0) & (panel["year"] >= panel["cohort"]), 1, 0)
    np.testing.assert_array_equal(panel["did"].to_numpy(), expect)
    d = panel.sort_values(["city", "year"]).groupby("city")["did"].diff().dropna()
    assert (d >= 0).all()  # absorbing
    # cohorts are the real batch years of the pilot list (data/facts, prefecture-level cities)
    facts = pd.read_csv(DATA / "facts" / "cbec_pilot_zones.csv")
    zh = panel.drop_duplicates("city").set_index("city_zh")["cohort"]
    pil = facts[facts["admin_level_note"] == "prefecture-level or higher"].drop_duplicates(
        "name_zh").set_index("name_zh")["year"]
    for name, coh in zh.items():
        first = int(pil.get(name, 0))
        assert coh == (first if first in (2015, 2016, 2018, 2019, 2020) else 0), name
    sizes = panel.drop_duplicates("city")["size_class"].value_counts()
    assert sizes.to_dict() == {"small": 155, "large": 93}  # 003 Table 7: N = 1550 / 930


def test_truth_is_consistent(panel):
    truth = pd.read_csv(DATA / "ecommerce_panel_truth.csv")
    treated = panel[panel["did"] == 1]
    assert len(truth) == len(treated)
    m = truth.merge(treated[["city", "year", "cohort"]], on=["city", "year", "cohort"])
    assert len(m) == len(truth)
    np.testing.assert_array_equal(truth["event_time"], truth["year"] - truth["cohort"])
    cell = truth.groupby(["cohort", "event_time", "tier"])["tau"].agg(["mean", "size"])
    back = truth.set_index(["cohort", "event_time", "tier"])
    np.testing.assert_allclose(back["cell_tau"], cell.loc[back.index, "mean"], atol=1e-10)
    np.testing.assert_array_equal(back["cell_n"], cell.loc[back.index, "size"])


def test_regenerate_equals_committed_csv(panel):
    from bayesres.simulate.ecommerce import generate

    rep = generate(seed=3)
    new = rep.panel
    assert list(new.columns) == list(panel.columns)
    for col in new.columns:
        if new[col].dtype.kind in "fi":
            np.testing.assert_allclose(new[col].to_numpy(), panel[col].to_numpy(dtype=float),
                                       rtol=1e-9, atol=1e-9, err_msg=col)
        else:
            assert new[col].astype(str).tolist() == panel[col].astype(str).tolist(), col
    truth = pd.read_csv(DATA / "ecommerce_panel_truth.csv")
    np.testing.assert_allclose(rep.truth["tau"].to_numpy(), truth["tau"].to_numpy(), atol=1e-9)
