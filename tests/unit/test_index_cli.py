"""``bayesres index`` end to end through the CLI (typer CliRunner): bundled SYNTHETIC customs38 and a
SYNTHETIC panel written to a temporary CSV with its spec. Checks the contract's results.json fields."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bayesres.cli import app

pytestmark = pytest.mark.filterwarnings("ignore::bayesres.errors.DataWarning")


def _check(out, *, posterior: bool) -> dict:
    doc = json.loads((out / "results.json").read_text())
    assert doc["analysis"] == "index"
    assert doc["diagnostics"] is None
    assert {"source", "sha256", "n_rows", "synthetic"} <= set(doc["data"])
    names = {q["name"] for q in doc["quantities"]}
    assert any(n.startswith("weight[") for n in names)
    assert any(n.startswith("dimension_weight[") for n in names)
    assert any(n.startswith("score[") for n in names)
    assert any(n.startswith("rank[") for n in names)
    q = next(q for q in doc["quantities"] if q["name"].startswith("weight["))
    assert q["frequentist"]["estimate"] is not None
    assert (q["bayesian"] is not None) == posterior
    if posterior:
        assert {"mean", "sd", "hdi_low", "hdi_high", "hdi_prob"} <= set(q["bayesian"])
    assert (out / "posterior.nc").exists() == posterior
    assert (out / "tables" / "weights.csv").exists()
    assert (out / "figures" / "weights_forest.png").exists()
    return doc


def test_cli_entropy_customs38(tmp_path):
    res = CliRunner().invoke(
        app, ["index", "--dataset", "customs38", "--method", "entropy", "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    doc = _check(tmp_path, posterior=False)
    assert doc["data"]["synthetic"] is True
    w = {q["name"]: q["frequentist"]["estimate"] for q in doc["quantities"]}
    assert abs(w["weight[budget_exp]"] - 0.1457956) < 1e-6  # paper 001 Table 1


def test_cli_bootstrap_quick_csv_panel(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        {
            "city": f"c{i}",
            "year": y,
            "tier": "a" if i < 5 else "b",
            "x1": rng.gamma(2.0) + i,
            "x2": rng.normal() + 0.1 * i,
            "x3": rng.normal(),
        }
        for i in range(10)
        for y in (2019, 2020, 2021)
    ]  # SYNTHETIC
    pd.DataFrame(rows).to_csv(tmp_path / "synthetic_panel.csv", index=False)
    pd.DataFrame(
        {
            "indicator": ["x1", "x2", "x3"],
            "dimension": ["p", "p", "q"],
            "direction": ["positive", "positive", "negative"],
        }
    ).to_csv(tmp_path / "spec.csv", index=False)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        [
            "index",
            "--data",
            str(tmp_path / "synthetic_panel.csv"),
            "--unit",
            "city",
            "--time",
            "year",
            "--tier",
            "tier",
            "--indicators",
            str(tmp_path / "spec.csv"),
            "--method",
            "bootstrap",
            "--quick",
            "--save-draws",
            "20",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = _check(out, posterior=True)
    assert "score[c3,2020]" in {q["name"] for q in doc["quantities"]}
    draws = pd.read_csv(out / "tables" / "index_draws.csv")
    assert list(draws.columns) == ["unit"] + [f"draw_{k}" for k in range(20)]


def test_cli_missing_spec_exits_2(tmp_path):
    pd.DataFrame({"city": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]}).to_csv(
        tmp_path / "d.csv", index=False
    )
    res = CliRunner().invoke(
        app,
        [
            "index",
            "--data",
            str(tmp_path / "d.csv"),
            "--unit",
            "city",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    # CliRunner calls the typer app, not the console script that maps SpecError to exit code 2
    from bayesres.errors import SpecError

    assert isinstance(res.exception, SpecError)
    assert "indicator spec" in str(res.exception)
