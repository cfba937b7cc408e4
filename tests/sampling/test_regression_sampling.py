"""Sampling tests for the regression models (slow): known-truth recovery, OLS agreement, CLI.

Truth comes from ``simulate_tier_regression`` (methods.md section 2.6 DGP); OLS from statsmodels.
One compiled model per structure is reused across seeds (``bayesres.sampling.fit`` with key + data).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import statsmodels.api as sm

from bayesres.config import SamplerSettings
from bayesres.regression import bayes
from bayesres.simulate.tiers import simulate_tier_regression
from bayesres.validate import validate_cross_section

pytestmark = pytest.mark.slow


def _cs(df, tier="tier"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return validate_cross_section(
            df,
            source="sim",
            outcome="y",
            predictor="x",
            controls=["c"],
            unit="unit",
            tier=tier,
            reference_tier="other" if tier else None,
        )


def test_tier_slope_recovery_40_seeds():
    """95 % intervals of each tier slope cover the truth in >= 90 % of 40 seeds; 0 divergences."""
    slopes = (0.05, 0.15, 0.25)
    s = SamplerSettings.make(draws=400, tune=400, chains=2, seed=0)
    model, covered, div = None, np.zeros(3), 0
    for seed in range(40):
        df = simulate_tier_regression(slopes=slopes, seed=100 + seed)
        data = bayes.prepare(_cs(df))
        model, res = bayes.fit_variant(
            data,
            variant="hierarchical",
            likelihood="normal",
            settings=SamplerSettings(**{**s.__dict__, "seed": seed}),
            model=model,
            swap=model is not None,
        )
        div += res.report.divergences
        raw = bayes.raw_draws(res.idata, data)
        for k, t in enumerate(("first", "new_first", "other")):
            lo, hi = np.quantile(raw[f"slope[{t}]"], [0.025, 0.975])
            covered[k] += lo <= slopes[k] <= hi
    assert div == 0
    assert np.all(covered / 40 >= 0.9), covered


def test_wide_priors_one_tier_match_ols():
    df = simulate_tier_regression(seed=7)
    cs = _cs(df, tier=None)
    data = bayes.prepare(cs)
    wide = bayes.Priors(intercept=1e3, slope=1e3, sigma=1e2)
    _, res = bayes.fit_variant(
        data,
        variant="pooled",
        likelihood="normal",
        priors=wide,
        settings=SamplerSettings.make(draws=2000, tune=1000, chains=2, seed=1),
    )
    raw = bayes.raw_draws(res.idata, data)
    o = sm.OLS(cs.y, np.column_stack([np.ones(cs.n), cs.x, cs.z])).fit()
    sd = raw["slope"].std()
    assert res.report.divergences == 0
    assert abs(raw["slope"].mean() - o.params[1]) < 0.1 * sd
    assert abs(raw["intercept"].mean() - o.params[0]) < 0.1 * raw["intercept"].std()


def test_cli_end_to_end_quick(tmp_path):
    from typer.testing import CliRunner

    from bayesres.cli import app

    df = simulate_tier_regression(seed=3)
    df["y"] = np.exp(df["y"])
    df["x"] = np.exp(df["x"])
    df["c"] = np.exp(df["c"])
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "out"
    r = CliRunner().invoke(
        app,
        [
            "regress",
            "--data",
            str(path),
            "--out",
            str(out),
            "--outcome",
            "y",
            "--predictor",
            "x",
            "--control",
            "c",
            "--tier",
            "tier",
            "--log",
            "--reference-tier",
            "other",
            "--quick",
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "results.json").read_text())
    names = {q["name"]: q for q in doc["quantities"]}
    for q in (
        "intercept",
        "slope",
        "coef[c]",
        "sigma",
        "slope[first]",
        "slope_diff[first-other]",
        "slope_diff[new_first-other]",
    ):
        assert names[q]["bayesian"] is not None and names[q]["frequentist"] is not None, q
    assert names["slope"]["frequentist"]["method"] == "OLS-HC1"
    assert doc["diagnostics"]["divergences"] == 0
    assert (out / "figures" / "forest_tier_slopes.png").exists()
