"""results.json shape (CONTRACT.md) and atomic saving."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from bayesres.results import AnalysisResult, DataInfo
from bayesres.summary import frequentist_row, summarise_draws


def _result() -> AnalysisResult:
    rng = np.random.default_rng(0)
    bayes = summarise_draws({"slope[first]": rng.normal(0.1, 0.05, (2, 500)), "sigma": rng.gamma(5, 0.02, (2, 500))}, method="hier")
    freq = pd.DataFrame([frequentist_row("slope[first]", estimate=0.1, std_error=0.04, method="OLS-HC1", df=34)])
    return AnalysisResult(
        analysis="regression",
        data=DataInfo("customs38", "abc", 38, True),
        settings={"seed": 0, "draws": 500, "chains": 2, "sampler": "nutpie"},
        estimates=bayes,
        frequentist=freq,
    )


def test_to_json_follows_contract():
    doc = _result().to_json()
    assert set(doc) >= {"bayesres_version", "analysis", "data", "settings", "quantities", "diagnostics"}
    assert doc["data"] == {"source": "customs38", "sha256": "abc", "n_rows": 38, "synthetic": True}
    q = {x["name"]: x for x in doc["quantities"]}
    assert set(q["slope[first]"]["bayesian"]) >= {"mean", "sd", "hdi_low", "hdi_high", "hdi_prob", "p_positive"}
    assert set(q["slope[first]"]["frequentist"]) >= {"method", "estimate", "se", "ci_low", "ci_high", "p_value"}
    assert q["sigma"]["frequentist"] is None
    assert q["slope[first]"]["bayesian"]["hdi_prob"] == 0.95
    json.dumps(doc, allow_nan=False)


def test_save_writes_files(tmp_path):
    out = _result().save(tmp_path / "run")
    doc = json.loads((out / "results.json").read_text())
    assert doc["analysis"] == "regression"
    assert (out / "tables" / "bayesian.csv").exists() and (out / "tables" / "comparison.csv").exists()
    assert (out / "report.html").read_text().count("Synthetic data") == 1
    assert not list(out.rglob("*.tmp"))
