"""Orchestration of ``bayesres replicate`` / ``run`` with fake analyses (no sampling).

The fakes are monkeypatched into this process, so these runs use ``jobs=1``; the two-process path
is checked here piecewise (chains, the worker entry with fakes in-process) and end to end by the
browser test's real ``replicate --quick`` (default jobs).

The fake ``run`` functions return ``bayesres.examples.demo_result`` objects; the tests check the
folder layout, the summary report (claims from data/published, banners, gate table), the
published-number mapping, and the CLI exit codes (3 under --strict on failed gates).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import bayesres.spec as spec_mod
from bayesres.cli import main
from bayesres.examples import fake_analysis_module as _fake_module
from bayesres.published import published_entry, published_value


@pytest.fixture
def fakes(monkeypatch):
    calls = []

    def install(failing=False):
        mods = {
            a: _fake_module(a, failing=failing, calls=calls) for a in ("index", "regression", "did")
        }
        monkeypatch.setattr(spec_mod, "_analysis_module", lambda a: mods[a])
        return calls

    return install


def test_published_mapping_matches_data_published():
    # 001 Table 2 and Table 4; 003 Table 4 col 6 / col 1 and Table 7 (data/published CSVs)
    assert published_value("regression", "slope") == pytest.approx(0.226)
    assert published_value("regression", "slope_diff[first-other]") == pytest.approx(-0.0305)
    assert published_value("regression", "slope", variant="restime") == pytest.approx(-2.470)
    assert published_value("did", "TWFE") == pytest.approx(0.016)
    assert published_value("did", "TWFE", variant="no_controls") == pytest.approx(0.029)
    assert published_value("did", "ATT_tier[large]", variant="size_class") == pytest.approx(0.013)
    assert published_value("index", "weight[hospital_beds]") == pytest.approx(0.0286325)
    assert published_value("index", "weight[patents]", paper="003") == pytest.approx(0.3210549)
    assert published_value("did", "ATT") is None
    e = published_entry("regression", "slope")
    assert e.se == pytest.approx(0.226 / 3.557)


def test_replicate_with_fakes_writes_every_folder_and_summary(tmp_path, fakes):
    from bayesres.replicate import replicate

    calls = fakes()
    rep = replicate(tmp_path / "rep", quick=False, seed=5, progress=False, jobs=1)
    assert not rep.errors and rep.skipped == []
    folders = {r.folder for r in rep.runs}
    assert {"index_001", "regression_001", "index_003", "did_003"} <= folders
    assert {"regression_001_growth", "regression_001_restime", "did_003_size"} <= folders
    assert "did_003_notyet" in folders
    for f in folders:
        assert (tmp_path / "rep" / f / "results.json").is_file()
        assert (tmp_path / "rep" / f / "report.html").is_file()
    # regression got the index scores as a column and the index draws
    reg = [c for c in calls if c[0] == "regression"][0]
    assert "resilience" in reg[1] and isinstance(reg[2]["index_draws"], pd.DataFrame)
    restime = [
        c for c in calls if c[0] == "regression" and c[2].get("outcome") == "months_to_recovery"
    ]
    assert len(restime[0][1]) == 37  # the censored city is dropped (paper 001 Table 3, n = 37)
    assert all(c[2]["seed"] == 5 and not c[2]["quick"] for c in calls)
    # Table 4 col 1 really has no controls: did.run would refill () from the dataset defaults
    did = [c[2] for c in calls if c[0] == "did"]
    assert did[0]["controls"] and did[0]["dataset"] == "ecommerce_panel"
    assert did[1]["controls"] == () and did[1]["dataset"] is None  # did_003_no_controls
    html = (tmp_path / "rep" / "report.html").read_text()
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "banner synthetic" in html and "All fits passed" in html
    assert "0.226" in html and "0.029" in html  # claims from data/published
    assert "The re-analysis says" in html and "Where they differ" in html
    assert "Diagnostic gates of every fit" in md and "What the re-analysis says" in md
    assert "<img" in html and "file:" not in html
    assert "Quick smoke run" not in html


def test_quick_is_a_smoke_run_of_the_main_analyses(tmp_path, fakes):
    from bayesres.replicate import replicate

    calls = fakes()
    rep = replicate(tmp_path / "rep", quick=True, seed=5, progress=False, jobs=1)
    assert [r.folder for r in rep.runs] == ["index_001", "regression_001", "index_003", "did_003"]
    assert "regression_001_growth" in rep.skipped and "did_003_size" in rep.skipped
    assert all(c[2]["quick"] for c in calls)
    kw = {c[0]: c[2] for c in calls}
    assert kw["index"]["save_draws"] == 0  # index_003 ran last; index_001 below
    assert [c[2]["save_draws"] for c in calls if c[0] == "index"][0] == 4
    assert kw["regression"]["refit_draws"] == 100 and kw["did"]["placebo"] == 20
    assert (kw["regression"]["draws"], kw["regression"]["chains"]) == (200, 2)
    doc = json.loads((tmp_path / "rep" / "did_003" / "results.json").read_text())
    assert doc["settings"]["quick"] is True
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "Quick smoke run" in html and "Skipped: regression_001_growth" in html


def test_replicate_failed_gate_banner_and_strict_exit(tmp_path, fakes, capsys, monkeypatch):
    import bayesres.replicate as rep_mod

    fakes(failing=True)
    out = tmp_path / "rep"
    # a full run's failed gate is a red banner (fakes: no sampling, so the full run is cheap)
    rep_mod.replicate(out, quick=False, progress=False, jobs=1)
    html = (out / "report.html").read_text()
    assert "Diagnostics FAILED" in html and "bulk ESS 55" in html
    assert 'class="banner fail"' in html and "Quick smoke run" not in html
    # a --quick run's failed gate is the expected smoke-run notice, not a red alarm
    assert main(["replicate", "--quick", "--jobs", "1", "--out", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert "Quick smoke run" in html and "not passed (smoke)" in html
    assert 'class="banner fail"' not in html and "Diagnostics FAILED" not in html
    sub = (out / "regression_001" / "report.html").read_text()
    assert "banner smoke" in sub and "banner fail" not in sub
    err = capsys.readouterr().err
    assert "quick smoke run" in err and "diagnostics failed" not in err
    # --strict semantics unchanged: any failed gate exits 3, quick or not
    assert main(["replicate", "--quick", "--strict", "--jobs", "1", "--out", str(out)]) == 3
    assert "failed diagnostic gates" in capsys.readouterr().err


def test_run_spec_cli_runs_index_first(tmp_path, fakes):
    calls = fakes()
    assert main(["run", "regression_001", "--quick", "--no-variants", "--out", str(tmp_path)]) == 0
    assert [c[0] for c in calls] == ["index", "regression"]
    doc = json.loads((tmp_path / "regression_001" / "results.json").read_text())
    assert doc["settings"]["spec"] == "regression_001"


def test_run_spec_error_exit_code(tmp_path):
    assert main(["run", str(tmp_path / "missing.toml")]) == 2


def test_chains_follow_index_from_and_keep_spec_order():
    from bayesres.replicate import REPLICATE_SPECS, chains_of
    from bayesres.spec import load_spec

    specs = [load_spec(n) for n in REPLICATE_SPECS]
    chains = chains_of(specs)
    assert [[s.name for s in c] for c in chains] == [
        ["index_001", "regression_001"],
        ["index_003", "did_003"],
    ]
    # index_from outside the run: the paper still groups it
    assert [[s.name for s in c] for c in chains_of(specs[1:])] == [
        ["regression_001"], ["index_003", "did_003"]
    ]  # fmt: skip


def test_worker_chain_reports_steps_and_returns_light_runs(tmp_path, fakes):
    """The worker entry, run here with the fakes: one queue message per step, upstream passed
    along the chain, figures and draws stripped (already saved; not sent between processes)."""
    import queue

    from bayesres.replicate import _run_chain
    from bayesres.spec import load_spec

    calls = fakes()
    q: queue.Queue = queue.Queue()
    chain = [load_spec("index_001"), load_spec("regression_001")]
    done = _run_chain(chain, str(tmp_path), False, 5, q)
    assert [name for name, _ in done] == ["index_001", "regression_001"]
    runs = [r for _, rs in done for r in rs]
    msgs = [q.get_nowait() for _ in range(q.qsize())]
    steps = [m for m in msgs if m[0] == "step"]
    assert [m[1] for m in steps] == [r.folder for r in runs]
    assert [r.folder for r in runs] == [
        "index_001", "regression_001", "regression_001_growth", "regression_001_restime"
    ]  # fmt: skip
    assert all(r.ok and r.result.figures == {} and r.result.idata is None for r in runs)
    assert (tmp_path / "regression_001" / "results.json").is_file()
    reg = [c for c in calls if c[0] == "regression"][0]
    assert "resilience" in reg[1]  # index_001's scores reached the regression in the chain


def test_shared_variants_are_the_did_variants_that_need_no_main_fit():
    """The DID chain's variants that either process may run: not the not-yet-treated one
    (with_main: it reuses did_003's Bayesian fit), nothing of paper 001's chain (the regression
    needs index_001's result), nothing under --quick (no variant runs) or with one chain."""
    from bayesres.replicate import REPLICATE_SPECS, chains_of, shared_variants
    from bayesres.spec import load_spec

    chains = chains_of([load_spec(n) for n in REPLICATE_SPECS])
    assert shared_variants(chains) == [
        ("did_003", "no_controls"), ("did_003", "size"), ("did_003", "central"),
        ("did_003", "resource"),
    ]  # fmt: skip
    assert shared_variants(chains, quick=True) == []
    assert shared_variants(chains[-1:]) == []


def test_worker_draws_shared_variants_after_its_chain_and_merge_keeps_spec_order(tmp_path, fakes):
    """The worker entry with a work queue: its own chain first, then the shared DID variants it
    draws until the queue is empty; merged with the runs of the other process, each spec's runs
    come back main first and variants in spec order whoever ran them."""
    import queue

    from bayesres.replicate import _merge, _run_chain, _run_here
    from bayesres.spec import load_spec

    fakes()
    did = load_spec("did_003")
    work: queue.Queue = queue.Queue()
    for item in [("did_003", "size"), ("did_003", "central")]:
        work.put(item)
    chain = [load_spec("index_001"), load_spec("regression_001")]
    done = _run_chain(chain, str(tmp_path), False, 5, None, work, [did])
    assert [n for n, _ in done] == ["index_001", "regression_001", "did_003", "did_003"]
    assert [r.folder for n, rs in done if n == "did_003" for r in rs] == [
        "did_003_size", "did_003_central"
    ]  # fmt: skip
    assert work.empty() and (tmp_path / "did_003_central" / "results.json").is_file()

    class _Bar:
        def update(self, *a, **k):
            pass

    by_spec: dict = {}
    _run_here([did], out=tmp_path, quick=False, seed=5, bar=_Bar(), task=None,
              on_step=lambda r: None, into=by_spec,
              shared=[("did_003", "size"), ("did_003", "central")])  # fmt: skip
    assert [r.folder for r in by_spec["did_003"]] == [
        "did_003", "did_003_no_controls", "did_003_notyet", "did_003_resource"
    ]  # fmt: skip
    for name, runs in done:
        if name == "did_003":
            _merge(by_spec, name, runs, did)
    assert [r.folder for r in by_spec["did_003"]] == [
        "did_003", "did_003_no_controls", "did_003_size", "did_003_notyet", "did_003_central",
        "did_003_resource",
    ]  # fmt: skip


def test_shared_queue_hands_out_last_runs_longest_first_untimed_first():
    from bayesres.replicate import longest_first

    shared = [("d", "a"), ("d", "b"), ("d", "c"), ("d", "e")]
    assert longest_first(shared, {}) == shared  # a first run: spec order
    seconds = {"d_a": 30.0, "d_b": 75.5, "d_c": 12.0}
    assert longest_first(shared, seconds) == [("d", "e"), ("d", "b"), ("d", "a"), ("d", "c")]


def test_seconds_are_recorded_per_mode_and_merged(tmp_path, fakes, seconds_file):
    from bayesres.replicate import last_seconds, record_seconds, replicate
    from bayesres.spec import SpecRun, load_spec

    assert last_seconds() == {}
    fakes()
    rep = replicate(tmp_path / "rep", quick=True, seed=5, progress=False, jobs=1)
    got = last_seconds(quick=True)
    assert set(got) == {r.folder for r in rep.runs} and last_seconds() == {}
    spec = load_spec("did_003")
    ok = SpecRun(spec=spec, folder="did_003_size", result=object(), seconds=46.44)
    failed = SpecRun(spec=spec, folder="did_003_central", error="boom", seconds=1.0)
    record_seconds([ok, failed])
    assert last_seconds() == {"did_003_size": 46.44}
    assert last_seconds(quick=True) == got  # the other mode is kept
    seconds_file.write_text("not json")
    assert last_seconds() == {}  # a damaged file is only a lost hint
    record_seconds([ok])
    assert last_seconds() == {"did_003_size": 46.44}
