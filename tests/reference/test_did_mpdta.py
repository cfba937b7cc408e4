"""Frequentist DID twins on mpdta against R ``did`` 2.5 and independent computations.

Sources (all quoted in /work/shared/notes/methods.md §5.1 and §3.1 unless said otherwise):
* ATT(g,t): csdid's R reference file ``ref_attgt.csv`` (full precision), = did README.
* Aggregates and their analytic SEs: R did 2.5 ``aggte`` (methods §5.1, ``ref_aggte.csv``; SEs to
  6 decimals as in issue 5 and notes/pymc6-arviz1.md §6).
* TWFE -0.036549, CRV1 SE 0.013265: R fixest ``feols(lemp ~ D | countyreal + year,
  cluster = ~countyreal)`` (methods §5.1 [V]; issue 5).
* BJS cells / overall / by event, SA leads, dCDH weights: methods §5.1 / §3.1 [V] (an independent
  numpy computation), 4 decimals. BJS cells must also equal the extended-TWFE (Wooldridge) post
  cell dummies fitted by pyfixest, an implementation independent of ours.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bayesres.datasets import load
from bayesres.did import freq
from bayesres.validate import validate_panel
from references import MPDTA_ATT_GT as ATT_GT
from references import MPDTA_BJS_CELLS as BJS_CELLS

AGG_NEVER = {  # R did 2.5 aggte, never-treated, DR: (estimate, analytic SE)
    "ATT": (-0.0399513, 0.012034),
    "ATT_group": (-0.0310183, 0.012446),
    "ATT_dynamic": (-0.0772398, 0.019965),
    "ATT_calendar": (-0.0417004, 0.015972),
}
AGG_DETAIL = {
    "ATT_group[2004]": -0.0797491,
    "ATT_group[2006]": -0.0229095,
    "ATT_group[2007]": -0.0260544,
    "ATT_dynamic[-3]": 0.0305067,
    "ATT_dynamic[-2]": -0.0005631,
    "ATT_dynamic[-1]": -0.0244587,
    "ATT_dynamic[0]": -0.0199318,
    "ATT_dynamic[1]": -0.0509574,
    "ATT_dynamic[2]": -0.1372587,
    "ATT_dynamic[3]": -0.1008114,
    "ATT_calendar[2004]": -0.0105032,
    "ATT_calendar[2005]": -0.0704232,
    "ATT_calendar[2006]": -0.0488160,
    "ATT_calendar[2007]": -0.0370593,
}
AGG_NOTYET = {
    "ATT": -0.0397636,
    "ATT_group": -0.0304622,
    "ATT_dynamic": -0.0773993,
    "ATT_calendar": -0.0442671,
}
BJS_EVENT = {0: -0.0311, 1: -0.0522, 2: -0.1361, 3: -0.1047}
SA_LEADS = {
    (2006, 2003): -0.0038,
    (2006, 2004): 0.0028,
    (2007, 2003): 0.0033,
    (2007, 2004): 0.0338,
    (2007, 2005): 0.0311,
}
DCDH = {
    (2004, 2004): 0.0457,
    (2004, 2005): 0.0457,
    (2004, 2006): 0.0325,
    (2004, 2007): -0.0109,
    (2006, 2006): 0.1973,
    (2006, 2007): 0.1106,
    (2007, 2007): 0.5790,
}


@pytest.fixture(scope="module")
def panel():
    return validate_panel(
        load("mpdta"),
        source="mpdta",
        unit="countyreal",
        time="year",
        cohort="first.treat",
        outcome="lemp",
    )


@pytest.fixture(scope="module")
def cs_never(panel):
    return freq.callaway_santanna(panel, control_group="never")


@pytest.fixture(scope="module")
def bjs(panel):
    return freq.bjs_imputation(panel)


def _est(tab: pd.DataFrame) -> pd.Series:
    return tab.set_index("quantity")["estimate"]


def test_att_gt_matches_r_did_all_cells(cs_never):
    est = _est(cs_never.att_gt)
    assert len(est) == 12
    for (g, t), ref in ATT_GT.items():
        assert est[f"ATT_gt[{g},{t}]"] == pytest.approx(ref, abs=1e-6)


def test_aggregates_never_treated_match_r_did(cs_never):
    tab = cs_never.aggregates.set_index("quantity")
    for q, (ref, ref_se) in AGG_NEVER.items():
        assert tab.loc[q, "estimate"] == pytest.approx(ref, abs=1e-6)
        assert tab.loc[q, "std_error"] == pytest.approx(ref_se, abs=1e-5)
    for q, ref in AGG_DETAIL.items():
        assert tab.loc[q, "estimate"] == pytest.approx(ref, abs=1e-6)
    assert set(tab["method"]) == {"CS-dr-never"}


def test_aggregates_not_yet_treated_match_r_did(panel):
    est = _est(freq.callaway_santanna(panel, control_group="notyet").aggregates)
    for q, ref in AGG_NOTYET.items():
        assert est[q] == pytest.approx(ref, abs=1e-6)


def test_twfe_matches_fixest(panel):
    row = freq.twfe(panel).set_index("quantity").loc["TWFE"]
    assert row["estimate"] == pytest.approx(-0.036549, abs=1e-6)
    assert row["std_error"] == pytest.approx(0.013265, abs=1e-6)
    assert row["lower"] < row["estimate"] < row["upper"]
    assert row["n"] == 2500


def test_bjs_cells_overall_and_event(bjs):
    cells = _est(bjs.cells)
    assert len(cells) == len(BJS_CELLS)
    for (g, t), ref in BJS_CELLS.items():
        assert cells[f"BJS_gt[{g},{t}]"] == pytest.approx(ref, abs=5e-5)
    assert _est(bjs.overall)["BJS"] == pytest.approx(-0.04771, abs=5e-6)
    assert int(bjs.overall["n_obs"].iloc[0]) == 291
    ev = _est(bjs.by_event)
    for e, ref in BJS_EVENT.items():
        assert ev[f"BJS_dynamic[{e}]"] == pytest.approx(ref, abs=5e-5)
    assert (bjs.table["std_error"] > 0).all()


def test_bjs_cells_equal_extended_twfe_cells(panel, bjs):
    """Wooldridge's extended TWFE (post cell dummies | unit + year) by pyfixest = BJS cells."""
    import pyfixest as pf

    df = panel.frame.copy()
    g, t = df["first.treat"].to_numpy(), df["year"].to_numpy()
    cols = []
    for a, b in BJS_CELLS:
        name = f"c{a}_{b}"
        df[name] = ((g == a) & (t == b)).astype(float)
        cols.append(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols(f"lemp ~ {' + '.join(cols)} | countyreal + year", data=df)
    cells = _est(bjs.cells)
    for name, (a, b) in zip(cols, BJS_CELLS, strict=True):
        assert cells[f"BJS_gt[{a},{b}]"] == pytest.approx(fit.coef()[name], abs=1e-10)


def test_dcdh_weights_and_identity(panel):
    import pyfixest as pf

    w = freq.dcdh_weights(panel).set_index(["cohort", "time"])
    for key, ref in DCDH.items():
        assert w.loc[key, "weight"] == pytest.approx(ref, abs=5e-5)
    assert w["negative"].sum() == 1 and bool(w.loc[(2004, 2007), "negative"])
    assert w["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    df = panel.frame.assign(D=panel.treated)
    beta = pf.feols("lemp ~ D | countyreal + year", data=df).coef()["D"]
    assert w["contribution"].sum() == pytest.approx(beta, abs=1e-10)
    # balanced panel: constant weight within a cell, so the cell-level identity holds too
    assert (w["weight"] * w["tau_bjs"]).sum() == pytest.approx(beta, abs=1e-10)


def test_sun_abraham_post_cells_equal_cs_and_leads(panel, cs_never):
    sa = _est(freq.sun_abraham(panel))
    cs = _est(cs_never.att_gt)
    post = [(g, t) for g, t in ATT_GT if t >= g]
    for g, t in post:
        assert sa[f"SA_gt[{g},{t}]"] == pytest.approx(cs[f"ATT_gt[{g},{t}]"], abs=1e-10)
    for (g, t), ref in SA_LEADS.items():
        assert sa[f"SA_gt[{g},{t}]"] == pytest.approx(ref, abs=5e-5)
    # IW aggregate with cohort-size weights over post cells = CS simple
    assert sa["SA"] == pytest.approx(AGG_NEVER["ATT"][0], abs=1e-6)
    for e in range(4):
        assert sa[f"SA_dynamic[{e}]"] == pytest.approx(AGG_DETAIL[f"ATT_dynamic[{e}]"], abs=1e-6)


def test_event_study_binned_ends(panel):
    es = freq.event_study(panel, leads=3, lags=3)
    assert "ES[-1]" not in set(es["quantity"])
    assert list(es["event_time"]) == [-3, -2, 0, 1, 2, 3]
    assert es.set_index("event_time")["binned"].to_dict() == {
        -3: True,
        -2: False,
        0: False,
        1: False,
        2: False,
        3: True,
    }
    assert np.isfinite(es["std_error"]).all()
