"""Coverage machinery (OLS only, no MCMC): exact t coverage, resume, CSV contract, CLI.

Reference: with homoskedastic normal errors and a fixed design the classical OLS interval
b_hat +- t_{n-p, 0.975} se is exact, so its coverage is 0.95 and the Monte Carlo estimate from R
replications lies within 0.95 +- 2 sqrt(0.95 * 0.05 / R) with probability about 0.95 (here a
fixed seed, so the test is deterministic).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesres.calibrate import COVERAGE_COLUMNS, coverage_table, run_coverage
from bayesres.calibrate import coverage as cv
from bayesres.errors import MissingDependencyError, SpecError

CONTRACT_COLUMNS = (
    "scenario, method, quantity, truth, reps, coverage, mcse, mean_width, rmse, rejection_rate"
)


def test_columns_match_contract():
    assert COVERAGE_COLUMNS == [c.strip() for c in CONTRACT_COLUMNS.split(",")]


def test_design_has_customs38_tiers():
    d = cv.coverage_design("customs38", seed=0)
    assert d.sizes == (4, 12, 22) and d.tiers == ("first", "new_first", "other")
    assert d.digest == cv.coverage_design("customs38", seed=0).digest


@pytest.mark.parametrize("fit", ["full", "interaction_only"])
def test_contrasts_recover_noise_free_truth(fit):
    # y exactly on the model (equal intercepts so both specifications hold): OLS returns the truth
    d = cv.coverage_design(seed=1)
    sc = cv.SCENARIOS["S2"]
    y = np.asarray(sc.slopes)[d.tier_idx] * d.x + cv.GAMMA * d.c
    x, ell, names = cv.design_matrix(d, fit)
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    truth = cv.truths(sc)
    assert ell @ beta == pytest.approx([truth[n] for n in names], abs=1e-10)


def test_reparametrisation_isolates_the_contrast():
    d = cv.coverage_design(seed=2)
    x, ell, _ = cv.design_matrix(d, "full")
    y = np.random.default_rng(0).standard_normal(d.n)
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    for row in ell:
        xr, j = cv._reparam(x, row)
        assert np.linalg.lstsq(xr, y, rcond=None)[0][j] == pytest.approx(row @ beta, abs=1e-10)


def test_ols_t_interval_covers_at_nominal(tmp_path):
    reps = 400
    table = run_coverage(
        ["S1"], reps=reps, out=tmp_path, methods="OLS", workers=0, seed=3, figures=False
    )
    mcse = np.sqrt(0.95 * 0.05 / reps)
    assert (table["reps"] == reps).all()
    assert np.all(np.abs(table["coverage"] - 0.95) <= 2 * mcse), table
    # the same check fails when the truth is wrong by about one standard error (broken case)
    rec = pd.read_csv(tmp_path / "replications.csv")
    broken = rec.assign(truth=rec["truth"] + (rec["upper"] - rec["lower"]).mean() / 3.92)
    bad = coverage_table(broken)
    assert np.all(np.abs(bad["coverage"] - 0.95) > 2 * mcse)


def test_aggregation_closed_form():
    rec = pd.DataFrame(
        {
            "scenario": "S1",
            "method": "OLS",
            "quantity": "q",
            "truth": 1.0,
            "rep": range(4),
            "estimate": [1.0, 2.0, 0.0, 1.0],
            "lower": [0.5, 1.5, -1.0, -0.5],
            "upper": [1.5, 2.5, 0.5, 0.5],
        }
    )
    t = coverage_table(rec).iloc[0]
    assert t["coverage"] == 0.25 and t["mcse"] == pytest.approx(np.sqrt(0.25 * 0.75 / 4))
    assert t["mean_width"] == pytest.approx(1.125) and t["rmse"] == pytest.approx(np.sqrt(0.5))
    assert t["rejection_rate"] == 0.5


def test_interrupted_study_resumes_to_the_same_table(tmp_path, monkeypatch):
    args = dict(reps=30, methods="ols", workers=0, seed=7, figures=False, chunk=4)
    full = run_coverage(["S1", "S4"], out=tmp_path / "a", **args)
    # 1) stop on purpose after 11 replications, then resume
    assert run_coverage(["S1", "S4"], out=tmp_path / "b", max_new=11, **args) is None
    assert len(list((tmp_path / "b" / "replications").glob("*.csv"))) == 11
    resumed = run_coverage(["S1", "S4"], out=tmp_path / "b", **args)
    pd.testing.assert_frame_equal(full, resumed)
    # 2) a crash inside a replication: earlier ones stay stored, the rerun completes
    real = cv.simulate_y
    calls = {"n": 0}

    def flaky(design, scenario, rng):
        calls["n"] += 1
        if calls["n"] == 17:
            raise RuntimeError("boom")
        return real(design, scenario, rng)

    monkeypatch.setattr(cv, "simulate_y", flaky)
    with pytest.raises(RuntimeError, match="boom"):
        run_coverage(["S1", "S4"], out=tmp_path / "c", **args)
    assert len(list((tmp_path / "c" / "replications").glob("*.csv"))) == 16
    monkeypatch.setattr(cv, "simulate_y", real)
    again = run_coverage(["S1", "S4"], out=tmp_path / "c", **args)
    pd.testing.assert_frame_equal(full, again)
    rec = pd.read_csv(tmp_path / "c" / "replications.csv")
    assert not rec.duplicated(["scenario", "rep", "method", "quantity"]).any()
    assert sorted(rec.groupby("scenario")["rep"].nunique()) == [30, 30]
    out = pd.read_csv(tmp_path / "c" / "coverage.csv")
    assert list(out.columns) == COVERAGE_COLUMNS


def test_changed_settings_in_same_folder_are_refused(tmp_path):
    run_coverage(["S1"], reps=3, out=tmp_path, methods="OLS", workers=0, seed=1, figures=False)
    with pytest.raises(SpecError, match="different settings"):
        run_coverage(["S1"], reps=3, out=tmp_path, methods="OLS", workers=0, seed=2)


def test_unknown_method_and_scenario():
    with pytest.raises(SpecError):
        cv.resolve_methods("OLS,nope")
    with pytest.raises(SpecError):
        run_coverage(["S9"], reps=1, out="unused", methods="OLS", workers=0)
    assert cv.resolve_methods("ols") == cv.OLS_METHODS


def test_missing_dask_names_the_extra(monkeypatch):
    import sys

    from bayesres.calibrate.engine import make_client

    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(MissingDependencyError, match=r"bayesres\[dask\]"):
        make_client(workers=1)


def test_cli_coverage_and_sbc_list(tmp_path):
    from typer.testing import CliRunner

    from bayesres.cli.calibrate import calibrate_app

    runner = CliRunner()
    res = runner.invoke(
        calibrate_app,
        [
            "coverage",
            "--scenario",
            "S1,S5",
            "--reps",
            "12",
            "--methods",
            "ols",
            "--workers",
            "0",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "coverage.csv")
    assert list(table.columns) == COVERAGE_COLUMNS
    assert set(table["scenario"]) == {"S1", "S5"} and (table["reps"] == 12).all()
    assert (tmp_path / "figures" / "coverage_S1.png").stat().st_size > 1000
    res = runner.invoke(calibrate_app, ["sbc", "--list"])
    assert res.exit_code == 0 and "eight_schools" in res.output
    assert "misspecified" not in res.output


@pytest.mark.slow
def test_dask_workers_give_the_serial_table(tmp_path):
    args = dict(reps=40, methods="ols", seed=5, figures=False, chunk=10)
    serial = run_coverage(["S2"], out=tmp_path / "s", workers=0, **args)
    dask = run_coverage(["S2"], out=tmp_path / "d", workers=2, **args)
    pd.testing.assert_frame_equal(serial, dask)


def test_bayesian_methods_are_the_shipped_regression_variants():
    from bayesres.calibrate.regression_models import COVERAGE_VARIANTS

    assert cv.resolve_methods("bayes") == cv.BAYES_METHODS
    assert set(cv.BAYES_METHODS) == set(COVERAGE_VARIANTS)
    assert COVERAGE_VARIANTS["bayes-hier-normal"] == ("hierarchical", "normal")
    assert COVERAGE_VARIANTS["bayes-hier-t"] == ("hierarchical", "student")


@pytest.mark.parametrize("scenario", ["S1", "S4", "S6"])
def test_fast_wild_bootstrap_is_the_shared_kernel(scenario):
    # the closed-form-in-r bootstrap must reproduce regression.freq.wild_bootstrap exactly
    from bayesres.regression.freq import wild_bootstrap

    d = cv.coverage_design(seed=0)
    sc = cv.SCENARIOS[scenario]
    y = cv.simulate_y(d, sc, np.random.default_rng(11))
    x, ell, _ = cv.design_matrix(d, sc.fit)
    for row in ell:
        xr, j = cv._reparam(x, row)
        ref = wild_bootstrap(y, xr, j, draws=199, seed=4)
        got = cv.wild_bootstrap_interval(y, xr, j, draws=199, seed=4)
        assert got["p_value"] == ref["p_value"]
        assert got["lower"] == pytest.approx(ref["lower"], rel=1e-6, abs=1e-9)
        assert got["upper"] == pytest.approx(ref["upper"], rel=1e-6, abs=1e-9)


def test_hierarchical_fits_start_at_095():
    assert cv.start_target_accept("bayes-hier-normal") == 0.95
    assert cv.start_target_accept("bayes-hier-t") == 0.95
    assert cv.start_target_accept("bayes-pooled") == 0.9


def test_merge_and_markdown(tmp_path):
    a = run_coverage(["S1"], reps=20, out=tmp_path / "a", methods="OLS", workers=0, figures=False)
    b = run_coverage(
        ["S1"], reps=20, out=tmp_path / "b", methods="OLS-HC1", workers=0, figures=False
    )
    merged = cv.merge_tables([b, a])
    assert list(merged["method"].unique()) == ["OLS", "OLS-HC1"]
    md = cv.coverage_markdown(merged, title="T")
    assert md.startswith("# T") and "## S1: homogeneous slopes" in md
    assert md.count("\n| OLS") == 10
    low = merged["coverage"] < 0.95 - 2 * merged["mcse"]
    assert md.count("*") == int(low.sum())


def test_centring_is_part_of_the_store_identity(tmp_path):
    """A store of one centring cannot be resumed with the other (no fits: max_new = 0)."""
    import json

    from bayesres.errors import SpecError

    kw = dict(reps=1, methods="bayes-hier-normal", workers=0, figures=False, max_new=0)
    assert run_coverage(["S6"], out=tmp_path / "t", **kw) is None  # default centre = "tier"
    assert json.loads((tmp_path / "t" / "study.json").read_text())["centre"] == "tier"
    with pytest.raises(SpecError, match="centre"):
        run_coverage(["S6"], out=tmp_path / "t", centre="global", **kw)
    # a store written before the option existed (no "centre" key) was fitted with global
    # centring: it resumes with centre="global" and refuses "tier"
    run_coverage(["S6"], out=tmp_path / "g", centre="global", **kw)
    ident = json.loads((tmp_path / "g" / "study.json").read_text())
    assert ident.pop("centre") == "global"
    (tmp_path / "g" / "study.json").write_text(json.dumps(ident))
    run_coverage(["S6"], out=tmp_path / "g", centre="global", **kw)
    with pytest.raises(SpecError, match="centre"):
        run_coverage(["S6"], out=tmp_path / "g", centre="tier", **kw)
    # the pooled models always centre globally: no key, so their stores are unaffected
    run_coverage(["S6"], out=tmp_path / "p", reps=1, methods="bayes-pooled-t", workers=0,
                 figures=False, max_new=0)  # fmt: skip
    assert "centre" not in json.loads((tmp_path / "p" / "study.json").read_text())
    with pytest.raises(SpecError, match="centre"):
        run_coverage(["S6"], out=tmp_path / "x", centre="within", **kw)


def test_merge_puts_a_labelled_variant_after_its_method():
    rows = [
        {"scenario": "S1", "method": m, "quantity": "slope[first]", "truth": 0.2, "reps": 1,
         "coverage": 1.0, "mcse": 0.0, "mean_width": 1.0, "rmse": 0.0, "rejection_rate": 0.0}
        for m in ("bayes-hier-t", "bayes-hier-normal (global centring)", "OLS", "bayes-hier-normal")
    ]  # fmt: skip
    merged = cv.merge_tables([pd.DataFrame(rows)])
    assert list(merged["method"]) == [
        "OLS",
        "bayes-hier-normal",
        "bayes-hier-normal (global centring)",
        "bayes-hier-t",
    ]
