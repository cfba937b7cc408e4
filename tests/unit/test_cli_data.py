"""``bayesres --version | --help`` and ``bayesres data list | show | export | check``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesres import __version__, datasets
from bayesres.cli import main

DATA = datasets.data_dir()
MPDTA_PANEL = ["--kind", "panel", "--unit", "countyreal", "--time", "year"]
MPDTA_PANEL += ["--cohort", "first.treat", "--outcome", "lemp"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_version(capsys) -> None:
    rc, out, _ = run(["--version"], capsys)
    assert rc == 0 and out.strip() == f"bayesres {__version__}"


def test_help_lists_the_commands(capsys) -> None:
    rc, out, _ = run(["--help"], capsys)
    assert rc == 0
    for command in ("data", "index", "regress", "did"):
        assert command in out


def test_version_through_the_console_script() -> None:
    exe = Path(sys.executable).with_name("bayesres")
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == f"bayesres {__version__}"


def test_data_list_names_every_dataset_with_kind_and_rows(capsys) -> None:
    rc, out, _ = run(["data", "list"], capsys)
    assert rc == 0
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    infos = datasets.list_datasets()
    assert set(lines) == {d.name for d in infos}
    for d in infos:
        assert lines[d.name][1] == ("synthetic" if d.synthetic else "real")
        assert lines[d.name][2] == str(d.rows)
    for name in ("customs38", "ecommerce_panel", "mpdta", "city_facts"):
        assert name in lines
    assert lines["mpdta"][1] == "real" and lines["customs38"][1] == "synthetic"


def test_data_show_mpdta(capsys) -> None:
    rc, out, _ = run(["data", "show", "mpdta"], capsys)
    assert rc == 0
    assert "mpdta" in out and "real" in out and "2500 rows" in out


def test_data_export_round_trips(tmp_path, capsys) -> None:
    target = tmp_path / "nested" / "mpdta.csv"
    rc, out, _ = run(["data", "export", "mpdta", str(target)], capsys)
    assert rc == 0 and str(target) in out
    back = pd.read_csv(target)
    original = datasets.load("mpdta")
    pd.testing.assert_frame_equal(back, original, check_exact=False, rtol=1e-12)
    assert [p.name for p in target.parent.iterdir()] == ["mpdta.csv"]


def test_data_export_failure_leaves_no_partial_file(tmp_path, capsys, monkeypatch) -> None:
    target = tmp_path / "mpdta.csv"
    target.write_text("previous contents\n")

    def fail(src, dst):  # the final rename fails, as on a full or read-only disk
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    rc, _, err = run(["data", "export", "mpdta", str(target)], capsys)
    assert rc == 1  # not bad input: an environment failure (CONTRACT: 1 anything else)
    assert len(err.splitlines()) == 1 and "No space left" in err and "Traceback" not in err
    assert target.read_text() == "previous contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["mpdta.csv"]  # no temporary left behind


def test_data_export_bad_target_or_name_exits_2(tmp_path, capsys) -> None:
    rc, _, err = run(["data", "export", "mpdta", str(tmp_path)], capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and "is a directory" in err
    rc, _, err = run(["data", "export", "nope", str(tmp_path / "x.csv")], capsys)
    assert rc == 2 and "unknown dataset 'nope'" in err
    assert not (tmp_path / "x.csv").exists()


# --------------------------------------------------------------------------- data check


def test_check_mpdta_panel_summary(capsys) -> None:
    """Counts from methods.md section 5.1: 500 counties; 2004 n=20, 2006 n=40, 2007 n=131,
    never 309."""
    rc, out, err = run(["data", "check", str(DATA / "mpdta.csv"), *MPDTA_PANEL], capsys)
    assert rc == 0, err
    assert err == ""
    lines = out.splitlines()
    assert "panel, 2500 rows, 500 units, periods 2003-2007, balanced" in lines[0]
    assert lines[1] == "cohorts: 2004 20, 2006 40, 2007 131, never 309"


def test_check_unbalanced_panel(tmp_path, capsys) -> None:
    df = pd.read_csv(DATA / "mpdta.csv").drop(index=[3, 10])
    p = tmp_path / "mpdta_unbalanced.parquet"
    df.to_parquet(p, index=False)
    rc, out, _ = run(["data", "check", str(p), *MPDTA_PANEL], capsys)
    assert rc == 0
    assert "2498 rows, 500 units" in out and "unbalanced" in out


def test_check_cross_section_with_tiers_warns_on_small_tiers(capsys) -> None:
    argv = ["data", "check", str(DATA / "customs38.csv"), "--kind", "cross-section"]
    argv += ["--unit", "city", "--tier", "tier", "--exports-prefix", "exports_"]
    argv += ["--predictor", "hospital_beds", "--control", "nonag_density", "--log"]
    argv += ["--reference-tier", "other"]
    rc, out, err = run(argv, capsys)
    assert rc == 0
    assert "cross-section, 38 rows, 38 units" in out
    assert "tiers: first 4, new_first 12, other 22" in out  # the reference tier goes last
    warn = err.splitlines()
    assert warn == [line for line in warn if line.startswith("warning: ")]
    assert any("tier 'first' has only 4 units" in line for line in warn)


def test_check_indicator_panel(capsys) -> None:
    argv = ["data", "check", str(DATA / "ecommerce_panel.csv"), "--kind", "indicators"]
    argv += ["--unit", "city", "--time", "year", "--indicators"]
    argv += [str(DATA / "ecommerce_indicators.csv")]
    rc, out, err = run(argv, capsys)
    assert rc == 0, err
    assert "indicators, 2480 rows, 248 units" in out
    assert "periods 2012-2021, balanced" in out


def test_check_xlsx_input(tmp_path, capsys) -> None:
    df = datasets.load("customs38")[["city", "tier", "hospital_beds", "gdp_pc"]]
    p = tmp_path / "c.xlsx"
    df.to_excel(p, index=False)
    argv = ["data", "check", str(p), "--kind", "cross-section", "--unit", "city"]
    argv += ["--outcome", "gdp_pc", "--predictor", "hospital_beds"]
    rc, out, _ = run(argv, capsys)
    assert rc == 0 and "38 rows" in out


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--kind", "bogus"], "unknown --kind 'bogus'"),
        (["--kind", "panel", "--unit", "countyreal"], "needs --unit, --time and --cohort"),
        (["--kind", "indicators", "--unit", "countyreal"], "needs --indicators"),
    ],
)
def test_check_bad_usage_exits_2(extra, needle, capsys) -> None:
    rc, out, err = run(["data", "check", str(DATA / "mpdta.csv"), *extra], capsys)
    assert rc == 2 and out == ""
    assert len(err.splitlines()) == 1 and needle in err


def test_check_does_not_touch_the_input(tmp_path, capsys) -> None:
    p = tmp_path / "m.csv"
    p.write_bytes((DATA / "mpdta.csv").read_bytes())
    before = p.read_bytes(), p.stat().st_mtime_ns
    rc, _, _ = run(["data", "check", str(p), *MPDTA_PANEL], capsys)
    assert rc == 0
    assert (p.read_bytes(), p.stat().st_mtime_ns) == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["m.csv"]
    assert np.isfinite(pd.read_csv(p)["lemp"]).all()


@pytest.mark.parametrize("argv", [["data", "check", "x.csv"], ["data", "list", "--bogus"]])
def test_usage_errors_exit_2_on_one_line(argv, capsys) -> None:
    rc, _, err = run(argv, capsys)
    assert rc == 2 and len(err.splitlines()) == 1
