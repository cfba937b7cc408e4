"""``bayesres replicate --quick`` end to end on the bundled data (real analyses): every CONTRACT file."""

from __future__ import annotations

import importlib
import json

import pytest

pytestmark = pytest.mark.slow


def test_replicate_quick_writes_contract_files(tmp_path):
    for analysis in ("index", "regression", "did"):
        assert hasattr(importlib.import_module(f"bayesres.{analysis}"), "run")
    from bayesres.cli import main

    out = tmp_path / "rep"
    assert main(["replicate", "--quick", "--out", str(out)]) == 0
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    for folder in ("index_001", "regression_001", "index_003", "did_003"):
        d = out / folder
        doc = json.loads((d / "results.json").read_text())
        assert doc["analysis"] == folder.split("_")[0]
        assert (d / "report.html").is_file()
        assert list((d / "tables").glob("*.csv")) and list((d / "figures").glob("*.png"))
        if doc["diagnostics"] is not None:  # an MCMC fit: its posterior must be saved
            assert (d / "posterior.nc").is_file()
