"""DID coverage study (calibrate.did_coverage): design, truths, errors, table logic; no MCMC.

References: the truths are closed forms of the design (mean of tau over treated city-years,
overall and per tier; the overall ATT is the treated-count-weighted mean of the tier ATTs); the
AR(1) errors have the stationary variance of the iid ones and lag-1 correlation rho; coverage,
MCSE and width of a hand-built record set are computed by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesres.calibrate import did_coverage as dc
from bayesres.errors import SpecError


@pytest.fixture(scope="module")
def design():
    return dc.did_coverage_design(0)


def test_design_keeps_the_ecommerce_structure(design):
    units = design.frame.groupby("city")[["tier", "cohort"]].first()
    assert len(units) == 248 and design.periods == tuple(range(2012, 2022))
    assert (units["cohort"] == 2015).sum() == 1  # the one-city cohort
    first = units[units["tier"] == "first"]
    assert len(first) == 4 and (first["cohort"] > 0).all()  # no never-treated first-tier city
    assert design.digest == dc.did_coverage_design(0).digest


def test_effects_are_heterogeneous_and_truths_close(design):
    f = design.frame
    tr = f[f["treated"] == 1]
    truth = dc.did_truths(design)
    assert truth["ATT"] == pytest.approx(tr["tau"].mean())
    n = tr.groupby("tier").size()
    weighted = sum(truth[f"ATT_tier[{k}]"] * n[k] for k in design.tiers) / n.sum()
    assert weighted == pytest.approx(truth["ATT"])
    assert truth["ATT_tier[first]"] > truth["ATT_tier[second]"] > truth["ATT_tier[other]"]
    # grows with event time within a cohort x tier, larger for earlier cohorts
    assert dc.effect(2016, 3, "second", 3) > dc.effect(2016, 0, "second", 3)
    assert dc.effect(2016, 0, "second", 3) > dc.effect(2020, 0, "second", 0)
    assert (f.loc[f["treated"] == 0, "tau"] == 0).all()


def test_errors_iid_and_ar1_moments(design):
    mean = design.frame["y0_mean"].to_numpy() + design.frame["tau"].to_numpy()
    t = len(design.periods)
    for sc, rho in (("S1", 0.0), ("S2", dc.AR_RHO)):
        e = np.stack(
            [dc.simulate_outcome(design, sc, np.random.default_rng(i)) - mean for i in range(40)]
        ).reshape(40, -1, t)
        assert e.std() == pytest.approx(dc.NOISE_SD, rel=0.03)
        lag1 = np.corrcoef(e[..., 1:].ravel(), e[..., :-1].ravel())[0, 1]
        assert lag1 == pytest.approx(rho, abs=0.03)
    with pytest.raises(SpecError):
        dc.simulate_outcome(design, "S9", np.random.default_rng(0))


def test_table_from_hand_built_records():
    rec = pd.DataFrame(
        {
            "scenario": "S1",
            "method": ["bayes-hier"] * 4 + ["CS"] * 4,
            "quantity": "ATT",
            "rep": [0, 1, 2, 3] * 2,
            "truth": 1.0,
            "estimate": [1.0, 1.2, 0.8, 2.0, 1.1, 0.9, 1.0, 1.0],
            "lower": [0.5, 1.1, 0.0, 1.5, 0.9, 0.5, 0.2, -0.1],
            "upper": [1.5, 1.3, 1.0, 2.5, 1.3, 1.5, 1.8, 2.1],
        }
    )
    t = dc.did_coverage_table(rec)
    assert list(t["method"]) == ["CS", "bayes-hier"]  # DID method order, not alphabetical
    cs, bh = t.iloc[0], t.iloc[1]
    assert cs["coverage"] == 1.0 and cs["mcse"] == 0.0
    assert bh["coverage"] == 0.5 and bh["mcse"] == pytest.approx(np.sqrt(0.25 / 4))
    assert bh["mean_width"] == pytest.approx(np.mean([1.0, 0.2, 1.0, 1.0]))
    assert bh["rmse"] == pytest.approx(np.sqrt(np.mean([0, 0.04, 0.04, 1.0])))
    assert cs["rejection_rate"] == 0.75  # reps 0-2 exclude 0


def test_methods_and_scenarios_resolve():
    assert dc.resolve_did_methods("all") == dc.DID_METHODS
    assert dc.resolve_did_methods("bayes,TWFE") == ("TWFE", "bayes-hier", "bayes-hier-imp")
    with pytest.raises(SpecError, match="unknown DID coverage method"):
        dc.resolve_did_methods("OLS-HC1")
    with pytest.raises(SpecError, match="unknown DID scenario"):
        dc.run_did_coverage(["S3"], reps=1, out="unused", workers=0)


def test_coverage_command_dispatches_the_ecommerce_design(monkeypatch, tmp_path):
    from bayesres.calibrate import coverage as cv

    seen = {}

    def fake(scenarios, **kw):
        seen.update(scenarios=list(scenarios), **kw)
        return pd.DataFrame()

    monkeypatch.setattr(dc, "run_did_coverage", fake)
    cv.run_coverage(list(cv.SCENARIOS), reps=3, out=tmp_path, design="ecommerce_panel")
    assert seen["scenarios"] == list(dc.DID_SCENARIOS) and seen["reps"] == 3
