"""DID coverage study end to end on a handful of replications (slow: pyfixest, moderndid, MCMC).

Checks the machinery, not the coverage numbers: every method and quantity is stored per
replication, the table has the contract columns, and a rerun with more reps resumes (finished
replications are kept, not refitted). The Bayesian fits use small draws; their intervals must
contain their own posterior medians and the truth of the simple ATT should be near them.
"""

from __future__ import annotations

import pandas as pd
import pytest

from bayesres.calibrate import COVERAGE_COLUMNS
from bayesres.calibrate import did_coverage as dc

pytestmark = pytest.mark.slow


def test_frequentist_then_resume(tmp_path):
    t2 = dc.run_did_coverage(["S1", "S2"], reps=2, out=tmp_path, methods="freq", workers=0)
    first = sorted((tmp_path / "replications").glob("*.csv"))
    stamps = {p.name: p.stat().st_mtime_ns for p in first}
    t3 = dc.run_did_coverage(["S1", "S2"], reps=3, out=tmp_path, methods="freq", workers=0)
    assert list(t3.columns) == COVERAGE_COLUMNS
    assert (t2["reps"] == 2).all() and (t3["reps"] == 3).all()
    assert {p.name: p.stat().st_mtime_ns for p in first} == stamps  # not recomputed
    assert len(t3) == 2 * len(dc.FREQ_METHODS) * (1 + 5)
    rec = pd.read_csv(tmp_path / "replications.csv")
    assert (rec["lower"] < rec["upper"]).all()


def test_bayesian_replication(tmp_path):
    t = dc.run_did_coverage(
        ["S1"], reps=1, out=tmp_path, methods="bayes", workers=0, draws=150, tune=200, chains=2
    )
    assert set(t["method"]) == set(dc.BAYES_METHODS) and len(t) == 2 * 6
    rec = pd.read_csv(tmp_path / "replications.csv")
    assert ((rec["lower"] <= rec["estimate"]) & (rec["estimate"] <= rec["upper"])).all()
    att = rec[(rec["quantity"] == "ATT") & (rec["method"] == "bayes-hier-imp")].iloc[0]
    assert abs(att["estimate"] - att["truth"]) < 0.01  # 0.02 true ATT, 0.012 noise sd
