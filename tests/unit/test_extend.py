"""``extend``: a fit that misses only R-hat / ESS is sampled once more with twice the draws.

The ladder logic is checked without sampling (the sampler and the gate check are replaced by
fakes); nutpie's paused-and-continued run is checked against nutpie itself: a fit that passes at
``draws`` has the draws of a plain run of that length, and an extended one those of a plain run
with twice the draws (same seed). The remedy is opt-in (studies of many fits keep their fixed length) and never applies to divergences (the
target_accept ladder handles those) or to a low E-BFMI (longer chains do not fix the geometry).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import bayesres.sampling as sampling
from bayesres.config import SamplerSettings
from bayesres.diagnostics import GateReport


def _fake(monkeypatch, verdicts):
    """Fake sampler recording (draws, target_accept); gates return ``verdicts`` in turn."""
    calls: list[tuple[int, float]] = []

    def sample_once(model, *, settings, key, data, target_accept, seconds, light=False, hold=None):
        calls.append((settings.draws, target_accept))
        seconds["_compile_this"] = 0.0
        return {"posterior": None}

    def gates(idata, *, var_names=None, derived=None, convergence=True):
        kind = verdicts[min(len(calls), len(verdicts)) - 1]
        rep = GateReport()
        if kind == "short":
            rep.passed, rep.r_hat_max, rep.messages = False, 1.02, ["R-hat 1.020 >= 1.01 (x)"]
        elif kind == "diverging":
            rep.passed, rep.divergences, rep.messages = False, 2, ["2 divergent transitions"]
        elif kind == "bfmi":
            rep.passed, rep.bfmi_min, rep.messages = False, 0.1, ["E-BFMI 0.10 < 0.3"]
        return rep

    monkeypatch.setattr(sampling, "_sample_once", sample_once)
    monkeypatch.setattr(sampling, "check_gates", gates)
    return calls


def test_short_chains_are_run_twice_as_long_once(monkeypatch):
    calls = _fake(monkeypatch, ["short", "ok"])
    res = sampling.fit(
        None, settings=SamplerSettings(draws=500, target_accept=0.95), extend=True,
        attach_data=False,
    )  # fmt: skip
    assert calls == [(500, 0.95), (1000, 0.95)]
    assert res.report.passed and res.report.extended and res.attempts == 2


def test_extension_happens_once_even_if_still_short(monkeypatch):
    calls = _fake(monkeypatch, ["short", "short"])
    res = sampling.fit(None, settings=SamplerSettings(draws=300), extend=True, attach_data=False)
    assert [d for d, _ in calls] == [300, 600]
    assert not res.report.passed and res.report.extended


def test_off_by_default(monkeypatch):
    calls = _fake(monkeypatch, ["short"])
    res = sampling.fit(None, settings=SamplerSettings(draws=300), attach_data=False)
    assert calls == [(300, 0.9)] and not res.report.extended


@pytest.mark.parametrize("kind", ["diverging", "bfmi"])
def test_not_for_divergences_or_low_bfmi(monkeypatch, kind):
    calls = _fake(monkeypatch, [kind] * 5)
    res = sampling.fit(
        None, settings=SamplerSettings(draws=300), retry=False, extend=True, attach_data=False
    )
    assert calls == [(300, 0.9)] and not res.report.extended


def test_extension_starts_from_the_last_rung_of_the_divergence_ladder(monkeypatch):
    calls = _fake(monkeypatch, ["diverging", "short", "ok"])
    res = sampling.fit(
        None, settings=SamplerSettings(draws=400, target_accept=0.9), extend=True,
        attach_data=False,
    )  # fmt: skip
    assert calls == [(400, 0.9), (400, 0.95), (800, 0.95)]
    assert res.report.passed and res.attempts == 3


def test_fit_did_reuse_returns_the_identical_earlier_fit(monkeypatch):
    """``fit_did(reuse=True)``: same panel, model, settings and seed -> no second sampling run;
    any difference (here the seed, or other data) samples again. Default: always samples."""
    from bayesres.did import bayes
    from bayesres.simulate.panel import simulate_staggered_panel
    from bayesres.validate import validate_panel

    runs: list[int] = []

    def fake_fit(model, *, settings, **kw):
        runs.append(settings.seed)
        return object()

    monkeypatch.setattr(sampling, "fit", fake_fit)
    monkeypatch.setattr(bayes, "_FITS", {})

    def panel(seed):
        df, _ = simulate_staggered_panel(
            n_units=12, n_periods=4, cohorts={0: 6, 3: 6}, tiers={"a": 6, "b": 6}, seed=seed
        )
        return validate_panel(
            df, source="sim", unit="unit", time="period", cohort="cohort", outcome="y", tier="tier"
        )

    p1 = panel(1)
    s0, s1 = SamplerSettings(seed=0), SamplerSettings(seed=1)
    first, _ = bayes.fit_did(p1, settings=s0, reuse=True)
    again, _ = bayes.fit_did(p1, settings=s0, reuse=True)
    assert again is first and runs == [0]
    bayes.fit_did(p1, settings=s1, reuse=True)  # another seed
    bayes.fit_did(panel(2), settings=s0, reuse=True)  # other data, same structure
    bayes.fit_did(p1, settings=s0)  # reuse off
    assert runs == [0, 1, 0, 0]


def _first_verdict(monkeypatch, *verdicts):
    """The real gate check, except that its first verdicts are forced: ``"short"`` (R-hat / ESS
    missed, no divergences, E-BFMI fine: what sends a fit on to twice the draws), ``"pass"`` or
    ``"diverging"`` (the next target_accept). Returns the draws per chain each check saw."""
    real, calls = sampling.check_gates, []

    def gates(idata, **kw):
        rep = real(idata, **kw)
        calls.append(int(idata["posterior"].sizes["draw"]))
        if len(calls) <= len(verdicts):
            verdict = verdicts[len(calls) - 1]
            rep.passed, rep.bfmi_min = verdict == "pass", 1.0
            rep.divergences = 2 if verdict == "diverging" else 0
            rep.messages = {"pass": [], "short": ["R-hat 1.020 >= 1.01 (forced)"]}.get(
                verdict, ["2 divergent transitions (forced)"]
            )
        return rep

    monkeypatch.setattr(sampling, "check_gates", gates)
    return calls


def _same_draws(a, b):
    for group in ("posterior", "sample_stats"):
        da, db = a[group].to_dataset(), b[group].to_dataset()
        assert set(da.data_vars) == set(db.data_vars)
        for v in da.data_vars:
            assert da[v].dims == db[v].dims
            np.testing.assert_array_equal(da[v].values, db[v].values)


@pytest.mark.parametrize("light", [False, True])
def test_nutpie_paused_run_gives_the_plain_runs_draws(monkeypatch, light):
    """Reference: nutpie's own blocking runs of 40 and of 80 draws with the same seed."""
    from bayesres.sampling import clear_compile_cache
    from nutpie_models import _data
    from nutpie_models import _model as small_model

    clear_compile_cache()
    m = small_model(*_data())
    s = SamplerSettings(draws=40, tune=60, chains=3, cores=1, seed=11, target_accept=0.99)
    kw = dict(key="extend-toy", retry=False, attach_data=False, light=light)
    plain = sampling.fit(m, settings=s, **kw)
    twice = sampling.fit(m, settings=replace(s, draws=80), **kw)

    calls = _first_verdict(monkeypatch, "pass")
    passed = sampling.fit(m, settings=s, extend=True, **kw)
    assert calls == [40] and not passed.report.extended and passed.attempts == 1
    _same_draws(passed.idata, plain.idata)

    calls = _first_verdict(monkeypatch, "short")
    longer = sampling.fit(m, settings=s, extend=True, **kw)
    assert calls == [40, 80]
    assert longer.report.extended and longer.attempts == 2
    _same_draws(longer.idata, twice.idata)


def _slow_model():
    """Slow enough per draw (20,000 observations) that nutpie's progress report, every 0.1 s,
    sees the chains reach ``draws`` before they finish: the pause-and-resume path."""
    import pymc as pm

    y = np.random.default_rng(0).normal(size=20_000)
    with pm.Model(coords={"k": range(50)}) as m:
        mu = pm.Normal("mu")
        z = pm.Normal("z", dims="k")
        pm.Normal("y", mu + 0.01 * z.sum(), pm.HalfNormal("s"), observed=y)
    return m


@pytest.mark.parametrize("light", [False, True])
def test_nutpie_run_paused_midway_and_resumed_gives_the_plain_runs_draws(monkeypatch, light):
    from bayesres.sampling import clear_compile_cache

    clear_compile_cache()
    m = _slow_model()
    s = SamplerSettings(draws=300, tune=200, chains=4, cores=2, seed=2)
    kw = dict(key="extend-slow", retry=False, attach_data=False, light=light, convergence=False)
    plain = sampling.fit(m, settings=s, **kw)
    twice = sampling.fit(m, settings=replace(s, draws=600), **kw)
    paused: list[bool] = []
    first = sampling._Held.first

    def spy(self):
        out = first(self)
        paused.append(self.full is None)  # None: stopped at `draws`, not run to the end
        return out

    monkeypatch.setattr(sampling._Held, "first", spy)
    calls = _first_verdict(monkeypatch, "pass")
    passed = sampling.fit(m, settings=s, extend=True, **kw)
    assert calls == [300] and not passed.report.extended
    _same_draws(passed.idata, plain.idata)
    calls = _first_verdict(monkeypatch, "short")
    longer = sampling.fit(m, settings=s, extend=True, **kw)
    assert calls == [300, 600] and longer.report.extended
    _same_draws(longer.idata, twice.idata)
    assert paused == [True, True]


def test_progress_bar_counts_to_the_gate_check_then_to_twice_the_draws():
    """A held run draws its own bar (nutpie's would count to twice the draws and stop half way
    when the gates pass): chains' draws up to tune + draws, then tune + 2 draws if extended."""
    bar = sampling._Bar(chains=3, per_chain=150)  # tune 100 + draws 50
    task = bar.progress.tasks[0]
    bar.show([20, 150, 170])  # a chain that ran ahead counts only up to the gate check
    assert (task.completed, task.total) == (20 + 150 + 150, 450)
    bar.extend(50)
    bar.show([200, 180, 199])
    assert (task.completed, task.total) == (200 + 180 + 199, 600)
    bar.stop()


def test_nutpie_held_runs_follow_the_divergence_ladder_then_run_on(monkeypatch):
    """A diverging attempt's held run is dropped and the next target_accept starts afresh; the
    extension then runs on that rung's chains. Reference: nutpie's plain run of twice the draws
    at the second rung, same seed."""
    from bayesres.sampling import clear_compile_cache
    from nutpie_models import _data
    from nutpie_models import _model as small_model

    clear_compile_cache()
    m = small_model(*_data())
    s = SamplerSettings(draws=40, tune=60, chains=2, seed=4, target_accept=0.9)
    kw = dict(key="extend-ladder", attach_data=False)
    reference = sampling.fit(
        m, settings=replace(s, draws=80, target_accept=0.95), retry=False, **kw
    )
    calls = _first_verdict(monkeypatch, "diverging", "short")
    res = sampling.fit(m, settings=s, extend=True, **kw)
    assert calls == [40, 40, 80]
    assert res.target_accept == 0.95 and res.attempts == 3 and res.report.extended
    assert res.divergences_first == 2
    _same_draws(res.idata, reference.idata)
