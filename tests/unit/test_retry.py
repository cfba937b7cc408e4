"""``retry``: the divergence ladder (target_accept 0.9 -> 0.95 -> 0.99) can be switched off.

``retry=False`` means one attempt at the starting target_accept. Checked without sampling: the
sampler and the gate check are replaced by fakes that report divergences, and the analyses'
fits by recorders. The option reaches ``sampling.fit`` from ``bayesres.did.run``,
``bayesres.regression.run`` (every one of its fits), the CLI (``--no-retry``) and the TOML spec
(``[sampler] retry``).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import bayesres.sampling as sampling
from bayesres import datasets
from bayesres.config import TARGET_ACCEPT_LADDER, SamplerSettings
from bayesres.diagnostics import GateReport
from bayesres.errors import SpecError
from bayesres.spec import load_spec


class _Stop(Exception):
    """Raised by a recorder once it has seen the call it checks."""


@pytest.fixture
def diverging(monkeypatch):
    """sampling.fit with a fake sampler whose every attempt has 3 divergences."""
    attempts: list[float] = []

    def sample_once(model, *, settings, key, data, target_accept, seconds, light=False, hold=None):
        attempts.append(target_accept)
        seconds["_compile_this"] = 0.0
        return {"posterior": None}

    def gates(idata, *, var_names=None, derived=None, convergence=True):
        rep = GateReport(divergences=3)
        rep.passed, rep.messages = False, ["3 divergent transitions"]
        return rep

    monkeypatch.setattr(sampling, "_sample_once", sample_once)
    monkeypatch.setattr(sampling, "check_gates", gates)
    return attempts


def test_fit_retries_up_the_ladder_by_default(diverging):
    res = sampling.fit(None, settings=SamplerSettings(target_accept=0.9), attach_data=False)
    assert diverging == [0.9, 0.95, 0.99] == list(TARGET_ACCEPT_LADDER)
    assert res.attempts == 3 and res.target_accept == 0.99


def test_fit_keeps_the_first_attempts_divergences(monkeypatch):
    # first attempt 5 divergences, second clean: the result is the second, the 5 are kept
    counts = iter([5, 0])

    def sample_once(model, *, settings, key, data, target_accept, seconds, light=False, hold=None):
        seconds["_compile_this"] = 0.0
        return {"posterior": None}

    def gates(idata, *, var_names=None, derived=None, convergence=True):
        rep = GateReport(divergences=next(counts))
        rep.passed = rep.divergences == 0
        return rep

    monkeypatch.setattr(sampling, "_sample_once", sample_once)
    monkeypatch.setattr(sampling, "check_gates", gates)
    res = sampling.fit(None, settings=SamplerSettings(target_accept=0.95), attach_data=False)
    assert res.attempts == 2 and res.target_accept == 0.99
    assert res.report.divergences == 0 and res.divergences_first == 5


@pytest.mark.parametrize("start", [0.9, 0.95])
def test_fit_without_retry_is_one_attempt_at_the_start(diverging, start):
    res = sampling.fit(
        None, settings=SamplerSettings(target_accept=start), retry=False, attach_data=False
    )
    assert diverging == [start]
    assert res.attempts == 1 and res.target_accept == start
    assert res.report.divergences == 3 and not res.report.passed  # reported, not retried


@pytest.mark.parametrize("retry", [True, False])
def test_did_run_passes_retry_to_the_fit(monkeypatch, retry):
    import bayesres.did.bayes as did_bayes
    from bayesres import did

    seen = {}

    def fit_did(panel, **kw):
        seen.update(kw)
        raise _Stop

    monkeypatch.setattr(did_bayes, "fit_did", fit_did)
    with pytest.raises(_Stop):
        did.run(datasets.load("mpdta"), dataset="mpdta", quick=True, retry=retry)
    assert seen["retry"] is retry
    assert seen["settings"].target_accept == 0.95  # the one attempt starts here


def _fake_posterior(model, rng) -> xr.DataTree:
    """Draws (1 chain x 100, all near 0.5) of every free RV and Deterministic of ``model``."""
    data = {}
    for var in [*model.free_RVs, *model.deterministics]:
        dims = tuple(model.named_vars_to_dims.get(var.name) or ())
        shape = [len(model.coords[d]) for d in dims]
        data[var.name] = (
            ("chain", "draw", *dims),
            0.5 + 0.05 * rng.standard_normal((1, 100, *shape)),
        )
    coords = {d: list(v) for d, v in model.coords.items() if v is not None}
    return xr.DataTree.from_dict({"posterior": xr.Dataset(data, coords=coords)})


def test_regression_run_passes_retry_to_every_fit(monkeypatch):
    """All fits of a run (main variants, prior sensitivity, growth, recovery, index draws)."""
    import bayesres.regression.bayes as reg_bayes
    import bayesres.regression.survival as reg_survival
    from bayesres import regression

    calls: list[tuple[str, bool]] = []
    unchecked: list[str] = []  # fits gated on divergences only
    rng = np.random.default_rng(0)

    def fake_fit(model, *, settings, key=None, data=None, retry=True, **kw):
        calls.append((str(key[0]) + ("/swap" if data else ""), retry))
        if not kw.get("convergence", True):
            assert kw.get("light") is True  # pooled refits keep only their posterior
            unchecked.append(str(key[0]) + ("/swap" if data else ""))
        rep = GateReport(r_hat_max=1.0, ess_bulk_min=500, ess_tail_min=500, bfmi_min=1.0)
        return sampling.FitResult(idata=_fake_posterior(model, rng), report=rep)

    monkeypatch.setattr(reg_bayes, "fit", fake_fit)
    monkeypatch.setattr(reg_survival, "fit", fake_fit)
    frame = datasets.load("customs38")
    draws = frame[["city"]].rename(columns={"city": "unit"})
    for m in range(2):
        draws[f"draw_{m}"] = rng.uniform(0.2, 0.8, len(frame))
    res = regression.run(frame, dataset="customs38", quick=True, index_draws=draws, retry=False)
    assert res.settings["retry"] is False
    kinds = {k for k, _ in calls}
    # the plug-in fits, the swapped refits (growth, prior sensitivity, index draws), recovery
    assert {"regression", "regression/swap", "survival"} <= kinds
    assert len(calls) >= 2 + 2 + 2 + 2 + 1  # prior sensitivity reuses the main fit at factor 1
    assert all(r is False for _, r in calls), calls
    # only the two index-draw refits skip R-hat / ESS (they are pooled); every other fit is gated
    assert unchecked == ["regression/swap"] * 2


def test_regression_run_retries_by_default(monkeypatch):
    import bayesres.regression.bayes as reg_bayes
    from bayesres import regression

    seen = {}

    def fit_variant(data, **kw):
        seen.update(kw)
        raise _Stop

    monkeypatch.setattr(reg_bayes, "fit_variant", fit_variant)
    with pytest.raises(_Stop):
        regression.run(datasets.load("customs38"), dataset="customs38", quick=True)
    assert seen["retry"] is True


# --------------------------------------------------------------------------- CLI
@pytest.mark.parametrize(
    ("command", "module", "func"),
    [
        ("did", "bayesres.did.bayes", "fit_did"),
        ("regress", "bayesres.regression.bayes", "fit_variant"),
    ],
)
@pytest.mark.parametrize("flag", [True, False])
def test_cli_no_retry(monkeypatch, tmp_path, capsys, command, module, func, flag):
    import importlib

    from bayesres.cli import main

    seen = {}

    def recorder(*a, **kw):
        seen.update(kw)
        raise _Stop

    monkeypatch.setattr(importlib.import_module(module), func, recorder)
    dataset = "mpdta" if command == "did" else "customs38"
    args = [command, "--dataset", dataset, "--quick", "--out", str(tmp_path / "o")]
    # the recorder stops the run: main() reports it as an internal error (exit 1)
    assert main([*args, "--no-retry"] if flag else args) == 1
    assert "_Stop" in capsys.readouterr().err
    assert seen["retry"] is (not flag)


def test_cli_help_lists_no_retry():
    from typer.testing import CliRunner

    from bayesres.cli import app

    for command in ("did", "regress"):
        out = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        assert "--no-retry" in out, command


# --------------------------------------------------------------------------- TOML spec
def _spec(tmp_path, analysis: str, sampler: str):
    dataset = {"did": "mpdta", "regression": "customs38", "index": "customs38"}[analysis]
    p = tmp_path / "s.toml"
    p.write_text(f'[spec]\nanalysis = "{analysis}"\ndataset = "{dataset}"\n[sampler]\n{sampler}\n')
    return p


@pytest.mark.parametrize("analysis", ["did", "regression"])
def test_spec_sampler_retry(tmp_path, analysis):
    spec = load_spec(_spec(tmp_path, analysis, "retry = false\nquick_draws = 50"))
    assert spec.kwargs(quick=True, seed=0)["retry"] is False
    assert spec.kwargs(quick=False, seed=0)["retry"] is False
    spec = load_spec(_spec(tmp_path, analysis, "retry = true"))
    assert spec.kwargs(quick=True, seed=0)["retry"] is True
    # unset: the analysis default (retry) applies, nothing is passed
    assert "retry" not in load_spec(_spec(tmp_path, analysis, "draws = 10")).kwargs(
        quick=False, seed=0
    )


def test_spec_retry_reaches_the_analysis(tmp_path, monkeypatch):
    import bayesres.did.bayes as did_bayes
    from bayesres.spec import run_one

    seen = {}

    def fit_did(panel, **kw):
        seen.update(kw)
        raise _Stop

    monkeypatch.setattr(did_bayes, "fit_did", fit_did)
    with pytest.raises(_Stop):
        run_one(load_spec(_spec(tmp_path, "did", "retry = false")), quick=True)
    assert seen["retry"] is False


@pytest.mark.parametrize(
    ("analysis", "sampler", "needle"),
    [
        ("did", 'retry = "no"', "retry"),
        ("regression", "retry = 0", "true or false"),
        ("index", "retry = false", "not an option of index"),
    ],
)
def test_spec_bad_retry_is_one_line_error(tmp_path, analysis, sampler, needle):
    p = _spec(tmp_path, analysis, sampler)
    with pytest.raises(SpecError) as err:
        load_spec(p)
    msg = err.value.one_line()
    assert "\n" not in msg and str(p) in msg and needle in msg
