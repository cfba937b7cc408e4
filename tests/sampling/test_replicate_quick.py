"""``bayesres replicate --quick`` end to end on the bundled data (real analyses): every CONTRACT file.

The one real MCMC smoke run of the suite (main analyses only, 2 chains x 200 draws): its gates are
not expected to pass, so the report must carry the neutral smoke notice, never the red banner.
"""

from __future__ import annotations

import json

import pytest

pytestmark = [
    pytest.mark.slow,
    # documented exception: customs38's first tier has 4 cities (paper 001), validate warns
    pytest.mark.filterwarnings("ignore::bayesres.errors.DataWarning"),
]

FOLDERS = ("index_001", "regression_001", "index_003", "did_003")


def test_replicate_quick_writes_contract_files(tmp_path):
    from bayesres.cli import main

    out = tmp_path / "rep"
    assert main(["replicate", "--quick", "--out", str(out)]) == 0
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(FOLDERS)
    mcmc = 0
    for folder in FOLDERS:
        d = out / folder
        doc = json.loads((d / "results.json").read_text())
        assert doc["analysis"] == folder.split("_")[0]
        assert doc["data"]["synthetic"] is True and doc["settings"]["quick"] is True
        assert doc["quantities"] and (d / "report.html").is_file()
        assert list((d / "tables").glob("*.csv")) and list((d / "figures").glob("*.png"))
        if doc["diagnostics"] is not None:  # an MCMC fit: its posterior must be saved
            mcmc += 1
            assert (d / "posterior.nc").is_file()
            assert doc["settings"]["chains"] == 2 and doc["settings"]["draws"] == 200
    assert mcmc == 2  # regression_001 and did_003
    reg = json.loads((out / "regression_001" / "results.json").read_text())
    assert reg["index_draws"]["m"] == 4  # quick: 4 index draws carried, not 100
    assert json.loads((out / "did_003" / "results.json").read_text())["placebo"]["draws"] == 20
    html = (out / "report.html").read_text()
    assert "banner synthetic" in html and "Quick smoke run" in html
    assert 'class="banner fail"' not in html  # no red alarm for an expected smoke-run ESS miss
    assert "The re-analysis says" in html and "<img" in html
