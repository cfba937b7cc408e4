"""did.run's frequentist twins beyond Callaway-Sant'Anna, and CS with covariates against R did.

* Sun-Abraham in did.run's frequentist table (``did._frequentist``, the function ``run`` calls;
  ``run`` itself samples, so it is not called here) must equal pyfixest's own saturated event study
  (``pyfixest.event_study(estimator="saturated")``, its ``i(rel_time, cohort)`` interactions and
  share-weighted ``aggregate``), an implementation independent of ours; the comparison table must
  set ``SA`` beside the Bayesian ``ATT``.
* CS with ``xformla = ~lpop`` (DR, never treated) on mpdta, two independent sources:
  R did's reference manual, att_gt example "Using covariates" (``out2``, est_method "dr" by default,
  R did 2.1.2 manual, CRAN did.pdf of 2022-07-20, https://cran.r-project.org/package=did), ATT(g,t)
  printed to 4 decimals; and the csdid documentation (Stata csdid, ``method(dripw)`` = R's "dr",
  analytic SEs; its author states every point estimate equals R did's),
  https://github.com/friosavila/playingwithstata/blob/main/drdid/csdid_stata.md ("Replication":
  ``estat simple`` -.0417518 (.0115028), ``estat group`` / ``calendar`` / ``event``), 7 decimals.
* On ecommerce_panel the five controls separate cohorts 2015-2019 from the never-treated cities
  (propensity score >= 0.999); CS-DR must say so instead of aggregating cohort 2020 alone.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesres.did as did
from bayesres import datasets
from bayesres.compare import compare_tables
from bayesres.datasets import load
from bayesres.did import freq
from bayesres.errors import DataError
from bayesres.summary import summarise_draws
from bayesres.validate import validate_panel
from references import ECOMMERCE_CONTROLS, MPDTA_COHORT_SIZES, ecommerce_panel

# R did reference manual (2.1.2), att_gt example out2: xformla=~lpop, DR, never treated, 4 decimals
R_ATT_GT_LPOP = {
    (2004, 2004): -0.0145,
    (2004, 2005): -0.0764,
    (2004, 2006): -0.1404,
    (2004, 2007): -0.1069,
    (2006, 2004): -0.0005,
    (2006, 2005): -0.0062,
    (2006, 2006): 0.0010,
    (2006, 2007): -0.0413,
    (2007, 2004): 0.0267,
    (2007, 2005): -0.0046,
    (2007, 2006): -0.0284,
    (2007, 2007): -0.0288,
}
# csdid documentation (method(dripw), analytic), "Replication" section, 7 decimals
CSDID_LPOP = {
    "ATT": -0.0417518,
    "ATT_group[2004]": -0.0845759,
    "ATT_group[2006]": -0.0201666,
    "ATT_group[2007]": -0.0287814,
    "ATT_calendar[2004]": -0.0145297,
    "ATT_calendar[2005]": -0.0764219,
    "ATT_calendar[2006]": -0.0461757,
    "ATT_calendar[2007]": -0.0395822,
    "ATT_dynamic[-3]": 0.0267278,
    "ATT_dynamic[-2]": -0.0036165,
    "ATT_dynamic[-1]": -0.023244,
    "ATT_dynamic[0]": -0.0210604,
    "ATT_dynamic[1]": -0.0530032,
    "ATT_dynamic[2]": -0.1404483,
    "ATT_dynamic[3]": -0.1069039,
}
CSDID_LPOP_SIMPLE_SE = 0.0115028


def _saturated(frame: pd.DataFrame, *, y: str, unit: str, time: str, cohort: str):
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest: "SaturatedEventStudy is in beta"
        return pf.event_study(
            data=frame,
            yname=y,
            idname=unit,
            tname=time,
            gname=cohort,
            estimator="saturated",
            cluster=unit,
        )


def _pyfixest_sa(fit, sizes: dict[int, int]) -> tuple[float, float, pd.DataFrame]:
    """SA overall (cohort-size weights over post cells) from pyfixest's coefficients and vcov."""
    names = list(fit._coefnames)
    cells = (
        fit.tidy()
        .reset_index()["Coefficient"]
        .str.extract(r"rel_time::(?P<e>-?[0-9.]+):first_treated_period::(?P<g>[0-9.]+)")
    )
    e, g = cells["e"].astype(float).to_numpy(), cells["g"].astype(float).astype(int).to_numpy()
    w = np.where(e >= 0, [sizes[k] for k in g], 0.0)
    w = w / w.sum()
    beta, vcov = np.asarray(fit._beta_hat), np.asarray(fit._vcov)
    assert len(names) == len(w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_event = fit.aggregate()
    return float(w @ beta), float(np.sqrt(w @ vcov @ w)), by_event


@pytest.fixture(scope="module")
def mpdta_panel():
    panel, _ = did.bundled_panel("mpdta")
    return panel


@pytest.fixture(scope="module")
def mpdta_freq(mpdta_panel):
    notes: list[str] = []
    table, _ = did._frequentist(
        mpdta_panel, control_group="never", leads=4, lags=4, hdi_prob=0.95, notes=notes
    )
    return table.set_index("quantity"), notes


def test_did_run_table_has_sa_equal_to_pyfixest_saturated_event_study(mpdta_freq):
    tab, notes = mpdta_freq
    fit = _saturated(load("mpdta"), y="lemp", unit="countyreal", time="year", cohort="first.treat")
    est, se, by_event = _pyfixest_sa(fit, MPDTA_COHORT_SIZES)
    sa = tab.loc["SA"]
    assert sa["estimate"] == pytest.approx(est, abs=1e-10)
    assert sa["std_error"] == pytest.approx(se, rel=1e-8)
    assert sa["twin_of"] == "ATT" and sa["method"].startswith("Sun-Abraham")
    # IW by event time: pyfixest's share weights (n^1 / n^0 counts) = our cohort sizes here
    for e, r in by_event.iterrows():
        row = tab.loc[f"SA_dynamic[{int(e)}]"]
        assert row["estimate"] == pytest.approx(float(r["Estimate"]), abs=1e-10)
        assert row["std_error"] == pytest.approx(float(r["Std. Error"]), rel=1e-8)
        assert row["twin_of"] == f"ATT_dynamic[{int(e)}]"
    # and beside CS (R did 2.5, methods.md 5.1): SA = CS simple exactly without covariates
    assert sa["estimate"] == pytest.approx(-0.0399513, abs=1e-6)
    assert tab.loc["ATT", "method"] == "CS-dr-never"
    assert tab.loc["BJS", "estimate"] == pytest.approx(-0.04771, abs=5e-6)  # methods.md 5.1 [V]
    assert not [n for n in notes if "Sun-Abraham" in n]


def test_comparison_table_sets_sa_and_bjs_beside_the_posterior(mpdta_freq, tmp_path):
    from bayesres.results import AnalysisResult, DataInfo

    tab, _ = mpdta_freq
    rng = np.random.default_rng(5)
    draws = {  # stand-in posteriors: the comparison layer is a pure function of the two tables
        "ATT": rng.normal(-0.04, 0.012, (2, 500)),
        "ATT_dynamic[0]": rng.normal(-0.02, 0.011, (2, 500)),
        "ATT_gt[2004,2004]": rng.normal(-0.01, 0.02, (2, 500)),
        "BJS": rng.normal(-0.048, 0.012, (2, 500)),
    }
    bayes = summarise_draws(draws, method="stand-in")
    frequentist = tab.reset_index()
    cmp = compare_tables(bayes, frequentist).set_index("quantity")
    assert cmp.index.is_unique
    for name, twin in (
        ("SA", "ATT"),
        ("SA_dynamic[0]", "ATT_dynamic[0]"),
        ("SA_gt[2004,2004]", "ATT_gt[2004,2004]"),
    ):
        row = cmp.loc[name]
        assert row["bayes_quantity"] == twin
        assert row["freq_estimate"] == tab.loc[name, "estimate"]
        assert row["post_mean"] == pytest.approx(draws[twin].mean())
        assert row["freq_method"].startswith("Sun-Abraham")
    # the rows paired by name are unchanged: ATT beside CS, BJS beside the imputation version
    assert cmp.loc["ATT", "freq_method"] == "CS-dr-never"
    assert cmp.loc["ATT", "bayes_quantity"] == "ATT"
    assert cmp.loc["BJS", "freq_estimate"] == tab.loc["BJS", "estimate"]
    # and the files did.run writes carry them (tables/comparison.csv, results.json)
    res = AnalysisResult(
        analysis="did",
        data=DataInfo(source="mpdta", sha256=None, n_rows=2500, synthetic=False),
        settings={},
        estimates=bayes,
        frequentist=frequentist,
    )
    out = res.save(tmp_path / "did", report=False)
    saved = pd.read_csv(out / "tables" / "comparison.csv").set_index("quantity")
    assert saved.loc["SA", "bayes_quantity"] == "ATT"
    assert saved.loc["SA", "freq_estimate"] == pytest.approx(tab.loc["SA", "estimate"])
    q = {r["name"]: r for r in res.quantities()}
    assert q["SA"]["frequentist"]["method"].startswith("Sun-Abraham")


def test_compare_tables_without_twin_column_is_unchanged():
    b = summarise_draws({"slope": np.random.default_rng(1).normal(0.3, 0.1, 4000)}, method="b")
    f = pd.DataFrame(
        [{"quantity": "slope", "estimate": 0.2, "std_error": 0.05, "lower": 0.1, "upper": 0.3}]
        + [{"quantity": "other", "estimate": 1.0, "std_error": 0.5, "lower": 0.0, "upper": 2.0}]
    ).assign(method="OLS", p_value=0.01)
    cmp = compare_tables(b, f)
    assert list(cmp["quantity"]) == ["slope"] and list(cmp["bayes_quantity"]) == ["slope"]
    assert cmp.columns[-1] == "bayes_quantity" and cmp.columns[0] == "quantity"


@pytest.mark.filterwarnings("ignore::bayesres.errors.DataWarning")  # the 4-city tier
def test_ecommerce_sa_equals_pyfixest_and_cs_with_controls_falls_back():
    frame = load("ecommerce_panel")
    panel = ecommerce_panel()
    sizes = panel.frame.drop_duplicates("city").groupby("cohort").size().to_dict()
    fit = _saturated(frame, y="resi", unit="city", time="year", cohort="cohort")
    est, se, _ = _pyfixest_sa(fit, sizes)
    sa = freq.sun_abraham(panel).set_index("quantity").loc["SA"]
    assert sa["estimate"] == pytest.approx(est, abs=1e-10)
    assert sa["std_error"] == pytest.approx(se, rel=1e-8)
    # did.run's table on the bundled design (five controls): SA and BJS with them; CS cannot
    # use them (overlap) and is reported without, with the reason in the notes
    bundled, _ = did.bundled_panel("ecommerce_panel")
    notes: list[str] = []
    tab, _ = did._frequentist(
        bundled, control_group="never", leads=4, lags=4, hdi_prob=0.95, notes=notes
    )
    tab = tab.set_index("quantity")
    sa_x = freq.sun_abraham(bundled, controls=ECOMMERCE_CONTROLS).set_index("quantity")
    assert tab.loc["SA", "estimate"] == sa_x.loc["SA", "estimate"]
    assert "controls" in tab.loc["SA", "method"]
    bjs_x = freq.bjs_imputation(bundled, controls=ECOMMERCE_CONTROLS).overall
    assert tab.loc["BJS", "estimate"] == bjs_x["estimate"].iloc[0]
    assert (
        tab.loc["ATT", "estimate"]
        == freq.callaway_santanna(bundled).aggregates.set_index("quantity").loc["ATT", "estimate"]
    )
    assert any("overlap condition violated" in n and "2015" in n for n in notes)


@pytest.fixture(scope="module")
def mpdta_lpop():
    panel = validate_panel(
        load("mpdta"),
        source="mpdta",
        unit="countyreal",
        time="year",
        cohort="first.treat",
        outcome="lemp",
        controls=("lpop",),
    )
    return freq.callaway_santanna(panel, controls=("lpop",), est_method="dr")


def test_cs_with_lpop_matches_r_did_manual_cells(mpdta_lpop):
    est = mpdta_lpop.att_gt.set_index("quantity")["estimate"]
    assert len(est) == 12 and not mpdta_lpop.failed
    for (g, t), ref in R_ATT_GT_LPOP.items():
        assert est[f"ATT_gt[{g},{t}]"] == pytest.approx(ref, abs=5e-5 + 1e-12)
    # the simple ATT implied by R's printed cells (n_g weights over post cells; rounding <= 5e-5)
    post = {k: v for k, v in R_ATT_GT_LPOP.items() if k[1] >= k[0]}
    w = np.array([MPDTA_COHORT_SIZES[g] for g, _ in post])
    simple_r = float(w @ np.array(list(post.values())) / w.sum())
    att = mpdta_lpop.aggregates.set_index("quantity").loc["ATT", "estimate"]
    assert att == pytest.approx(simple_r, abs=5e-5)


def test_cs_with_lpop_aggregates_match_csdid_to_seven_decimals(mpdta_lpop):
    tab = mpdta_lpop.aggregates.set_index("quantity")
    for q, ref in CSDID_LPOP.items():
        assert tab.loc[q, "estimate"] == pytest.approx(ref, abs=5e-7), q
    assert tab.loc["ATT", "std_error"] == pytest.approx(CSDID_LPOP_SIMPLE_SE, abs=5e-7)
    assert set(tab["method"]) == {"CS-dr-never"}


@pytest.mark.filterwarnings("ignore::bayesres.errors.DataWarning")
def test_cs_dr_with_separating_controls_names_the_cells_instead_of_averaging_the_rest():
    import moderndid

    from bayesres.did._design import COHORT, TIME, UNIT, Y, fit_frame

    panel = ecommerce_panel(controls=ECOMMERCE_CONTROLS)
    with pytest.raises(DataError, match="overlap condition violated") as err:
        freq.callaway_santanna(panel, controls=ECOMMERCE_CONTROLS)
    assert "32 of 45" in str(err.value)
    for cohort in ("2015 (9 cells)", "2016 (9 cells)", "2018 (9 cells)", "2019 (5 cells)"):
        assert cohort in str(err.value)
    kept = freq.callaway_santanna(panel, controls=ECOMMERCE_CONTROLS, na_rm=True)
    assert len(kept.failed) == 32 and len(kept.att_gt) == 13
    att = kept.aggregates.set_index("quantity").loc["ATT"]
    assert att["method"] == "CS-dr-never, 32 cells not estimable"
    # = moderndid called directly (it drops the failed cells and aggregates the rest) ...
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = moderndid.att_gt(
            fit_frame(panel, controls=ECOMMERCE_CONTROLS),
            yname=Y,
            tname=TIME,
            idname=UNIT,
            gname=COHORT,
            xformla="~ " + " + ".join(ECOMMERCE_CONTROLS),
            est_method="dr",
            boot=False,
            cband=False,
        )
        simple = moderndid.aggte(direct, type="simple", boot=False, cband=False)
    assert att["estimate"] == pytest.approx(float(simple.overall_att), abs=1e-12)
    # ... which is cohort 2020's ATT alone, next to its stored truth (ecommerce_panel_truth.csv)
    truth = datasets.truth("ecommerce_panel")
    t2020 = truth.loc[truth["cohort"] == 2020, "tau"].mean()
    assert abs(att["estimate"] - t2020) < att["std_error"]
    groups = [q for q in kept.aggregates["quantity"] if q.startswith("ATT_group[")]
    assert groups == ["ATT_group[2020]"]
