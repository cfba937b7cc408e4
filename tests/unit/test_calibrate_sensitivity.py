"""Prior sensitivity tables without MCMC: hand-built draws, a fake fit, closed-form PSIS.

The refit columns are pure arithmetic on draws, so every expected number below is written out by
hand from the draws the test builds. The PSIS columns are checked against the conjugate normal
model theta ~ N(0, s^2), y | theta ~ N(theta, 1), whose posterior is known in closed form for
every prior scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesres.calibrate import sensitivity as sens
from bayesres.calibrate.sensitivity import (
    PSENSE_COLUMNS,
    SENSITIVITY_COLUMNS,
    FitDraws,
    PriorScale,
    compare,
    interval_verdict,
    run_sensitivity,
    summarise,
)
from bayesres.errors import SpecError

CONTRACT = "prior, factor, quantity, mean_ref, mean, shift_sd, sd_ratio, verdict_changed"


def test_columns_start_with_the_contract():
    head = [c.strip() for c in CONTRACT.split(",")]
    assert SENSITIVITY_COLUMNS[: len(head)] == head
    assert len(set(SENSITIVITY_COLUMNS)) == len(SENSITIVITY_COLUMNS)


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [(0.1, 2.0, "positive"), (-2.0, -0.1, "negative"), (-0.1, 0.1, "includes 0"), (0.0, 1.0, "includes 0")],
)  # fmt: skip
def test_interval_verdict(low, high, verdict):
    # an interval that touches 0 does not exclude it
    assert interval_verdict(low, high) == verdict


def _base_draws() -> np.ndarray:
    # 2 chains x 200 draws: 133 x -1, 134 x 0, 133 x +1, so mean = 0 exactly, the sum of
    # squares is 266 and the sample sd (ddof 1) is sqrt(266 / 399)
    x = np.array([-1.0] * 133 + [0.0] * 134 + [1.0] * 133)
    return x.reshape(2, 200)


def test_summarise_by_hand():
    x = _base_draws()
    t = summarise({"q": x, "p": x + 5.0}, prob=0.95).set_index("quantity")
    sd = np.sqrt(266 / 399)
    assert t.loc["q", "mean"] == pytest.approx(0.0, abs=1e-12)
    assert t.loc["q", "sd"] == pytest.approx(sd, rel=1e-12)
    # 2.5 % and 97.5 % quantiles of a third -1 / third 0 / third +1 sample are -1 and +1
    assert (t.loc["q", "low"], t.loc["q", "high"]) == (-1.0, 1.0)
    assert t.loc["q", "verdict"] == "includes 0"
    assert t.loc["p", "verdict"] == "positive"  # interval (4, 6)
    assert np.isfinite(t.loc["q", "mcse"]) and t.loc["q", "mcse"] > 0


def test_weighted_summary_by_hand():
    # draws 0 and 1, half each; log weights give draw value 1 three times the weight of 0:
    # weighted mean 0.75, weighted sd sqrt(0.75 * 0.25)
    x = np.array([0.0, 1.0] * 50).reshape(2, 50)
    lw = np.where(x.reshape(-1) == 1.0, np.log(3.0), 0.0)
    t = summarise({"q": x}, log_weights=lw).iloc[0]
    assert t["mean"] == pytest.approx(0.75)
    assert t["sd"] == pytest.approx(np.sqrt(0.75 * 0.25))
    assert np.isnan(t["mcse"])


def _fake_fit(shift: dict[str, float], scale: dict[str, float]):
    """A fit whose quantity 'q' moves by shift[prior] * sd and scales by scale[prior]."""

    def fit(overrides):
        x = _base_draws()
        d = 0.0
        m = 1.0
        for name in overrides:
            d, m = shift[name], scale[name]
        sd = np.sqrt(266 / 399)
        return FitDraws(
            draws={"q": m * x + d * sd, "r": x + 3.0},
            divergences=len(overrides),
            r_hat_max=1.0 + 0.001 * len(overrides),
        )

    return fit


def test_run_sensitivity_with_fake_fit():
    priors = {"a": PriorScale("a", 0.5), "b": PriorScale("b", 2.0)}
    fit = _fake_fit(shift={"a": 0.5, "b": -2.5}, scale={"a": 2.0, "b": 1.0})
    res = run_sensitivity(fit, priors, factors=(0.5, 2.0), psense=False)
    t = res.table
    assert list(t.columns) == SENSITIVITY_COLUMNS
    assert len(t) == 2 * 2 * 2  # priors x factors x quantities
    q = t[t["quantity"] == "q"].set_index(["prior", "factor"])
    sd = np.sqrt(266 / 399)
    # prior a: draws 2 x + 0.5 sd -> mean shift 0.5 sd exactly, sd ratio 2
    assert q.loc[("a", 0.5), "shift_sd"] == pytest.approx(0.5)
    assert q.loc[("a", 0.5), "sd_ratio"] == pytest.approx(2.0)
    assert q.loc[("a", 0.5), "mean"] == pytest.approx(0.5 * sd)
    # interval (-2 + 0.41, 2 + 0.41) still covers 0
    assert not q.loc[("a", 0.5), "verdict_changed"]
    # prior b: x - 2.5 sd -> interval (-1 - 2.04, 1 - 2.04) lies below 0: the verdict changes
    assert q.loc[("b", 2.0), "shift_sd"] == pytest.approx(-2.5)
    assert q.loc[("b", 2.0), "sd_ratio"] == pytest.approx(1.0)
    assert q.loc[("b", 2.0), "verdict_changed"]
    assert q.loc[("b", 2.0), "verdict"] == "negative"
    assert q.loc[("a", 2.0), "prior_value"] == pytest.approx(1.0)  # 0.5 x 2
    assert q.loc[("b", 0.5), "prior_value"] == pytest.approx(1.0)  # 2 x 0.5
    # the untouched quantity r does not move at all
    r = t[t["quantity"] == "r"]
    assert np.allclose(r["shift_sd"], 0.0) and np.allclose(r["sd_ratio"], 1.0)
    assert (t["divergences"] == 1).all()
    assert t["psis_shift_sd"].isna().all()  # no log prior recorded: no PSIS columns
    assert res.info["fits"] == 5
    assert list(res.reference["quantity"]) == ["q", "r"]
    assert list(res.psense.columns) == PSENSE_COLUMNS and res.psense.empty
    assert set(res.changed()["prior"]) == {"a", "b"}  # |shift| >= 0.5 or verdict changed


def test_compare_rows_follow_reference():
    ref = summarise({"q": _base_draws(), "r": _base_draws() + 1})
    alt = summarise({"r": _base_draws() + 1, "q": _base_draws()})
    c = compare(ref, alt)
    assert list(c["quantity"]) == ["q", "r"]
    assert np.allclose(c["shift_sd"], 0) and not c["verdict_changed"].any()


@pytest.mark.parametrize("factors", [(1.0,), (0.0, 2.0), (), (-1.0,)])
def test_bad_factors_are_refused(factors):
    with pytest.raises(SpecError, match="factors"):
        run_sensitivity(_fake_fit({}, {}), {"a": PriorScale("a", 1.0)}, factors=factors)


@pytest.mark.parametrize(("family", "factor", "alpha"), [("normal", 2.0, 0.25), ("normal", 0.5, 4.0), ("exponential", 2.0, 0.5)])  # fmt: skip
def test_power_for_a_scale_factor(family, factor, alpha):
    # N(0, s)^a = N(0, s / sqrt(a)) up to a constant, so scale x f is a = f^-2; Exp(1/s)^a has
    # rate a / s, so scale x f is a = 1 / f
    assert PriorScale("p", 1.0, family).alpha(factor) == pytest.approx(alpha)


def _conjugate(s: float, y: float = 1.0) -> tuple[float, float]:
    """Posterior mean and sd of theta ~ N(0, s^2), y ~ N(theta, 1)."""
    v = 1.0 / (1.0 + 1.0 / s**2)
    return v * y, np.sqrt(v)


def _conjugate_fit(n_chains: int = 4, n_draws: int = 2000, seed: int = 1):
    """Reference fit of the conjugate model (s = 1, y = 1) from iid posterior draws."""
    m, sd = _conjugate(1.0)
    theta = np.random.default_rng(seed).normal(m, sd, size=(n_chains, n_draws))
    log_prior = -0.5 * theta**2 - 0.5 * np.log(2 * np.pi)
    log_lik = (-0.5 * (1.0 - theta) ** 2 - 0.5 * np.log(2 * np.pi))[..., None]
    return FitDraws(draws={"theta": theta}, log_prior={"theta": log_prior}, log_likelihood=log_lik)


@pytest.mark.parametrize("factor", [2.0, 0.5])
def test_psis_matches_closed_form_refit(factor):
    ref = _conjugate_fit()
    m0, sd0 = _conjugate(1.0)
    m1, sd1 = _conjugate(factor)
    exact = FitDraws(draws={"theta": np.random.default_rng(2).normal(m1, sd1, size=(4, 2000))})
    prior = {"s": PriorScale("s", 1.0, "normal", ("theta",))}
    t = sens.sensitivity_table(ref, {("s", factor): exact}, prior).iloc[0]
    # exact: x2 gives mean 0.8 (sd 0.894) against 0.5 (sd 0.707), a shift of +0.424 sd; x0.5
    # gives mean 0.2 (sd 0.447), -0.424 sd. Monte Carlo error of a shift from two independent
    # sets of 8000 iid draws: sqrt((1 + sd_ratio^2) / 8000) <= 0.018 sd, so 0.05 is ~3 MC SEs
    # (seeded, hence deterministic). PSIS reuses the reference draws: its weights p^(alpha-1)
    # are light-tailed here (k = 0.53 for x2, < 0 for x0.5: bounded weights), so the same
    # tolerance holds for it; k < 0.7 is PSIS's own reliability threshold.
    assert t["psis_pareto_k"] < 0.7
    assert t["psis_shift_sd"] == pytest.approx((m1 - m0) / sd0, abs=0.05)
    assert t["psis_sd_ratio"] == pytest.approx(sd1 / sd0, abs=0.05)
    assert t["shift_sd"] == pytest.approx((m1 - m0) / sd0, abs=0.05)
    assert t["sd_ratio"] == pytest.approx(sd1 / sd0, abs=0.05)


def test_prior_swap_equals_power_scaling_for_a_normal_prior():
    # the "swap" ratio log q - log p of N(0, f) against N(0, 1) is -theta^2 / 2 (1/f^2 - 1) -
    # log f, power-scaling's (f^-2 - 1) log p up to a constant: the same normalised weights
    from scipy import stats

    ref = _conjugate_fit()
    exact = FitDraws(draws={"theta": np.random.default_rng(2).normal(*_conjugate(2.0), (4, 2000))})

    def swap(p, f):
        th = ref.draws["theta"]
        return stats.norm.logpdf(th, 0, p.value * f) - stats.norm.logpdf(th, 0, p.value)

    power = PriorScale("s", 1.0, "normal", ("theta",))
    swapped = PriorScale("s", 1.0, "swap", ("theta",))
    a = sens.sensitivity_table(ref, {("s", 2.0): exact}, {"s": power})
    b = sens.sensitivity_table(ref, {("s", 2.0): exact}, {"s": swapped}, log_ratio=swap)
    cols = ["psis_shift_sd", "psis_sd_ratio", "psis_pareto_k"]
    assert np.allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), atol=1e-9)
    # a swap prior without a log ratio has no PSIS approximation (NaN, not a wrong number)
    c = sens.sensitivity_table(ref, {("s", 2.0): exact}, {"s": swapped})
    assert c[cols].isna().all().all()
    with pytest.raises(SpecError, match="no power"):
        swapped.alpha(2.0)


def test_psense_table_sees_the_informative_prior():
    ref = _conjugate_fit()
    ps = sens.psense_table(ref, {"s": PriorScale("s", 1.0, "normal", ("theta",))})
    assert list(ps.columns) == PSENSE_COLUMNS
    assert set(ps["prior"]) == {"s"}  # a joint row only with two or more studied priors
    row = ps[ps["prior"] == "s"].iloc[0]
    # prior and likelihood carry equal information here (prior sd = data sd = 1), so both
    # power-scaling sensitivities are well above priorsense's 0.05 threshold: the diagnosis
    # is a prior-data conflict, not "ok"
    assert row["prior_sensitivity"] > 0.05 and row["likelihood_sensitivity"] > 0.05
    assert row["diagnosis"] != "ok"


def test_psense_joint_row_pools_the_studied_priors():
    ref = _conjugate_fit()
    # a second prior whose log density is half of theta's: the joint log prior is 1.5 times
    # theta's, and power-scaling it by alpha is power-scaling theta's by 1 + 1.5 (alpha - 1), so
    # to first order the joint sensitivity is 1.5 times theta's alone (and phi's is 0.5 times)
    ref.log_prior["phi"] = 0.5 * ref.log_prior["theta"]
    priors = {
        "s": PriorScale("s", 1.0, "normal", ("theta",)),
        "f": PriorScale("f", 1.0, "normal", ("phi",)),
    }
    ps = sens.psense_table(ref, priors).set_index("prior")["prior_sensitivity"]
    assert set(ps.index) == {"s", "f", sens.JOINT}
    assert ps[sens.JOINT] / ps["s"] == pytest.approx(1.5, rel=0.05)
    assert ps["f"] / ps["s"] == pytest.approx(0.5, rel=0.05)


def test_psense_needs_log_prior_and_likelihood():
    ref = _conjugate_fit()
    ref.log_likelihood = None
    assert sens.psense_table(ref, {"s": PriorScale("s", 1.0, "normal", ("theta",))}).empty


def test_quantity_selection():
    draws = {"ATT": 1, "ATT_tier[a]": 2, "ATT_tier_diff[a-b]": 3, "ATT_group[2015]": 4}
    got = sens._select(draws, ("ATT", "ATT_tier["))
    assert list(got) == ["ATT", "ATT_tier[a]"]
    with pytest.raises(SpecError, match="no quantity"):
        sens._select(draws, ("slope[",))


def test_unknown_model_and_priors_are_refused():
    with pytest.raises(SpecError, match="unknown model"):
        sens.run_prior_sensitivity("index")
    with pytest.raises(SpecError, match="unknown regression prior"):
        sens.regression_sensitivity("customs38", priors=("tau",))


def test_customs38_cross_section_matches_the_regression_defaults():
    cs, notes = sens.regression_cross_section("customs38")
    assert cs.n == 38 and cs.tiers == ("first", "new_first", "other")
    assert any("only 4 units" in n for n in notes)  # the 4-city tier warning is kept as a note
    with pytest.raises(SpecError, match="no regression defaults"):
        sens.regression_cross_section("mpdta")


def test_figure_is_written(tmp_path):
    fit = _fake_fit(shift={"a": 0.5, "b": -2.5}, scale={"a": 2.0, "b": 1.0})
    res = run_sensitivity(fit, {"a": PriorScale("a", 0.5), "b": PriorScale("b", 2.0)}, psense=False)
    paths = res.save(tmp_path)
    assert (tmp_path / "figures" / "sensitivity.png").stat().st_size > 1000
    back = pd.read_csv(tmp_path / "sensitivity.csv")
    assert list(back.columns) == SENSITIVITY_COLUMNS and len(back) == len(res.table)
    assert len(paths) == 5 and not list(tmp_path.glob(".*.tmp"))  # atomic: no temp files left


def test_cli_sensitivity_writes_the_tables(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bayesres.cli.calibrate import calibrate_app

    seen = {}

    def fake_regression(data, *, priors, factors, **kw):
        seen.update(data=data, priors=tuple(priors), factors=tuple(factors), **kw)
        shift = dict.fromkeys(priors, 0.2) | {"group_sd": -2.5}
        fit = _fake_fit(shift=shift, scale=dict.fromkeys(priors, 1.0))
        res = run_sensitivity(fit, {p: PriorScale(p, 1.0) for p in priors}, factors=factors)
        res.info["dataset"] = data
        return res

    monkeypatch.setattr(sens, "regression_sensitivity", fake_regression)
    args = ["sensitivity", "--model", "regression", "--scales", "0.5,2", "--out", str(tmp_path)]
    res = CliRunner().invoke(calibrate_app, [*args, "--priors", "all", "--seed", "7"])
    assert res.exit_code == 0, res.output
    assert seen["data"] == "customs38" and seen["seed"] == 7 and seen["factors"] == (0.5, 2.0)
    assert seen["priors"] == tuple(sens.REGRESSION_PRIORS)  # 'all'
    # group_sd moves q by -2.5 sd: the largest shift, and its interval now lies below 0
    assert "largest |shift| 2.50 sd (q, group_sd x 0.5)" in res.output
    assert "interval verdict changed: q (group_sd x 0.5): includes 0 -> negative" in res.output
    table = pd.read_csv(tmp_path / "sensitivity.csv")
    assert list(table.columns) == SENSITIVITY_COLUMNS
    assert (tmp_path / "figures" / "sensitivity.png").exists()
    bad = CliRunner().invoke(calibrate_app, [*args[:-2], "--out", str(tmp_path), "--scales", "x"])
    assert bad.exit_code != 0
