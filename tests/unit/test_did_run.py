"""bayesres.did.run end to end on a small simulated panel (quick sampling), and dataset defaults.

The end-to-end test checks the contract (CONTRACT.md, did): every required quantity name, both
twins where the contract names one, the placebo block and the files written by ``save``. It
does not check estimates (the sampling tests do, against stored truths and R values).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import bayesres.did as did
from bayesres import datasets
from bayesres.did import _mpdta_terciles, _resolve
from bayesres.simulate.panel import simulate_staggered_panel


def test_mpdta_defaults_and_population_terciles():
    frame, spec = _resolve(
        datasets.load("mpdta"),
        "mpdta",
        outcome=None,
        unit=None,
        time=None,
        cohort=None,
        tier=None,
        controls=None,
    )
    assert spec["outcome"] == "lemp" and spec["cohort"] == "first.treat"
    per_county = frame.drop_duplicates("countyreal")
    counts = per_county["pop_tercile"].value_counts()
    assert sorted(counts.index) == ["high", "low", "mid"]
    assert counts.min() >= 166 and counts.max() <= 167  # 500 counties in thirds
    # terciles are ordered by lpop
    med = per_county.groupby("pop_tercile")["lpop"].median()
    assert med["low"] < med["mid"] < med["high"]
    assert _mpdta_terciles(datasets.load("mpdta"))["pop_tercile"].notna().all()


def test_ecommerce_defaults():
    _, spec = _resolve(
        datasets.load("ecommerce_panel"),
        "ecommerce_panel",
        outcome=None,
        unit=None,
        time=None,
        cohort=None,
        tier=None,
        controls=None,
    )
    assert (spec["outcome"], spec["unit"], spec["time"], spec["tier"]) == (
        "resi",
        "city",
        "year",
        "tier",
    )
    assert spec["controls"] == ("agg", "open", "invest", "tec", "market")


def test_empty_controls_mean_none_not_the_dataset_defaults():
    # Table 4 col 1 of paper 003 is the no-controls TWFE: controls=() must not be refilled
    _, spec = _resolve(
        datasets.load("ecommerce_panel"),
        "ecommerce_panel",
        outcome=None,
        unit=None,
        time=None,
        cohort=None,
        tier=None,
        controls=(),
    )
    assert spec["controls"] == ()
    assert spec["outcome"] == "resi"


def test_missing_columns_without_a_dataset_is_a_spec_error():
    from bayesres.errors import SpecError

    with pytest.raises(SpecError):
        _resolve(pd.DataFrame({"a": [1]}), None, outcome="a", unit=None, time=None, cohort=None)


@pytest.mark.slow  # samples end to end: a cold compile of the DID model dominates
def test_run_end_to_end_emits_every_contract_quantity(tmp_path):
    df, _ = simulate_staggered_panel(
        n_units=30,
        n_periods=5,
        cohorts={0: 12, 3: 9, 4: 9},
        tiers={"a": 15, "b": 15},
        seed=3,
    )
    res = did(
        df,
        outcome="y",
        unit="unit",
        time="period",
        cohort="cohort",
        tier="tier",
        leads=2,
        lags=2,
        placebo=20,
        seed=1,
        draws=100,
        chains=2,
        quick=True,
    )
    assert res.analysis == "did"
    q = {r["name"]: r for r in res.quantities()}
    required = ["ATT", "TWFE", "ATT_tier[a]", "ATT_tier[b]", "ATT_tier_diff[a-b]"]
    required += ["ATT_group[3]", "ATT_group[4]", "ATT_dynamic[0]", "ATT_dynamic[1]"]
    required += ["ATT_dynamic[2]", "ATT_calendar[3]", "ATT_calendar[4]", "ATT_calendar[5]"]
    required += ["ATT_gt[3,3]", "ATT_gt[3,4]", "ATT_gt[3,5]", "ATT_gt[4,4]", "ATT_gt[4,5]"]
    for name in required:
        assert name in q, name
        assert q[name]["bayesian"] is not None, name
        assert q[name]["frequentist"] is not None, name
        assert np.isfinite(q[name]["bayesian"]["mean"]), name
    assert q["ATT"]["frequentist"]["method"].startswith("CS")
    assert q["TWFE"]["frequentist"]["method"].startswith("TWFE")
    assert "split sample" in q["ATT_tier[a]"]["frequentist"]["method"]
    # the lead of the 4 cohort (e = -2, t = 2) is in the Bayesian model (leads=2)
    assert q["ATT_dynamic[-2]"]["bayesian"] is not None
    assert res.extra["placebo"]["draws"] == 20
    assert 0.0 <= res.extra["placebo"]["p_value"] <= 1.0
    assert set(res.figures) >= {
        "event_study", "tier_forest", "placebo", "comparison", "prior_predictive",
        "posterior_predictive",
    }  # fmt: skip

    out = res.save(tmp_path / "did")
    doc = json.loads((out / "results.json").read_text())
    assert doc["analysis"] == "did"
    assert doc["placebo"]["estimates_file"] == "tables/placebo.csv"
    assert len(pd.read_csv(out / doc["placebo"]["estimates_file"])) == 20
    assert doc["diagnostics"]["divergences"] >= 0
    for f in ("event_study", "tier_forest", "placebo", "comparison"):
        assert (out / "figures" / f"{f}.png").stat().st_size > 0
    assert (out / "posterior.nc").exists()
    cells = pd.read_csv(out / "tables" / "cells.csv")
    assert set(cells["version"]) == {"cell", "imputation"}


@pytest.mark.filterwarnings("ignore::bayesres.errors.DataWarning")  # the 4-city tier warning
@pytest.mark.parametrize(
    ("quick", "draws", "expected"),
    [(False, None, "DID_DRAWS"), (True, None, 200), (False, 321, 321)],
)
def test_run_default_draws_and_no_controls(monkeypatch, quick, draws, expected):
    import bayesres.did.bayes as did_bayes

    seen = {}

    class Stop(Exception):
        pass

    def fit_did(panel, **kw):
        seen["panel"], seen["settings"] = panel, kw["settings"]
        raise Stop

    monkeypatch.setattr(did_bayes, "fit_did", fit_did)
    with pytest.raises(Stop):
        did.run(
            datasets.load("ecommerce_panel"),
            dataset="ecommerce_panel",
            controls=(),
            quick=quick,
            draws=draws,
        )
    # 1,500 by default (did.DID_DRAWS), SamplerSettings' quick draws (200) under quick
    assert seen["settings"].draws == (did.DID_DRAWS if expected == "DID_DRAWS" else expected)
    assert seen["panel"].controls == ()
