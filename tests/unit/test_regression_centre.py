"""Centring of x in the tier regression (``centre = "tier" | "global"``, regression.bayes).

References: (a) the definition x = (x_raw - mean_k(x_raw)) / sd(x_raw) (numpy); (b) the per-tier
least-squares line in closed form, b_k = cov_k(x, y) / var_k(x), a_k = mean_k(y) - b_k mean_k(x),
on data that lie on known lines up to noise of sd 1e-4, so the (flat-relative-to-the-likelihood)
posterior mean must sit on those lines; (c) the spec / argument validation messages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesres.config import SamplerSettings
from bayesres.errors import SpecError
from bayesres.regression import bayes
from bayesres.spec import OPTION_VALUES, load_spec
from bayesres.validate import validate_cross_section

TIERS = ("first", "new_first", "other")
SIZES = (4, 12, 22)
# tiers far apart in x with very different lines, so using the global mean of x instead of the
# tier's own mean in the back-transform would move intercept[k] by slope_k * (m_k - mean x) ~ 1
X_MEANS = (2.0, 0.0, -1.0)
LINES = {"first": (0.5, 1.0), "new_first": (-0.3, -0.5), "other": (0.2, 2.0)}  # (a_k, b_k)


def _frame(noise: float = 1e-4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tier = np.repeat(TIERS, SIZES)
    x = np.concatenate(
        [m + 0.3 * rng.standard_normal(n) for m, n in zip(X_MEANS, SIZES, strict=True)]
    )
    a = np.array([LINES[t][0] for t in tier])
    b = np.array([LINES[t][1] for t in tier])
    y = a + b * x + noise * rng.standard_normal(len(x))
    return pd.DataFrame({"unit": [f"u{i}" for i in range(len(x))], "tier": tier, "x": x, "y": y})


def _cs(df: pd.DataFrame):
    return validate_cross_section(
        df,
        source="sim",
        outcome="y",
        predictor="x",
        controls=(),
        unit="unit",
        tier="tier",
        reference_tier="other",
    )


@pytest.mark.filterwarnings("ignore::bayesres.errors.DataWarning")
def test_tier_centring_gives_zero_mean_within_each_tier_in_the_model():
    df = _frame()
    cs = _cs(df)
    td = bayes.prepare(cs)  # default: "tier"
    tg = bayes.prepare(cs, centre="global")
    assert td.centre == "tier" and tg.centre == "global"
    x_raw = df["x"].to_numpy()
    codes = td.tier
    for k, t in enumerate(td.tiers):
        m_k = x_raw[df["tier"].to_numpy() == t].mean()
        assert td.x_tier_loc[k] == pytest.approx(m_k)
        assert tg.x_tier_loc[k] == pytest.approx(x_raw.mean())
    np.testing.assert_allclose(td.x, (x_raw - td.x_tier_loc[codes]) / x_raw.std(ddof=1))
    # what the compiled model is given: pm.Data "x" of the built model, and the swap payload
    for variant in ("nopool", "hierarchical"):
        m = bayes.build_model(td, variant=variant)
        x_model = np.asarray(m["x"].get_value())
        for k in range(len(td.tiers)):
            assert x_model[codes == k].mean() == pytest.approx(0, abs=1e-12)
        np.testing.assert_allclose(td.pm_data(variant=variant)["x"], x_model)
        # same structure, same compile: centring only changes the values of the x container
        assert bayes.model_key(td, variant=variant, likelihood="normal") == bayes.model_key(
            tg, variant=variant, likelihood="normal"
        )
    # the pooled model centres globally whatever ``centre`` says
    xp = np.asarray(bayes.build_model(td, variant="pooled")["x"].get_value())
    np.testing.assert_allclose(xp, (x_raw - x_raw.mean()) / x_raw.std(ddof=1), atol=1e-12)
    np.testing.assert_allclose(xp, tg.x, atol=1e-12)


def _ols_lines(df: pd.DataFrame) -> dict[str, tuple[float, float]]:
    out = {}
    for t, g in df.groupby("tier"):
        x, y = g["x"].to_numpy(), g["y"].to_numpy()
        b = np.cov(x, y, ddof=1)[0, 1] / x.var(ddof=1)
        out[str(t)] = (y.mean() - b * x.mean(), b)
    return out


@pytest.mark.filterwarnings("ignore::bayesres.errors.DataWarning")
def test_raw_intercepts_and_slopes_reconstruct_the_per_tier_lines():
    """No-pool fits (both centrings, one compile, x swapped) land on the per-tier OLS lines."""
    df = _frame()
    cs = _cs(df)
    ols = _ols_lines(df)
    # the data are on the true lines up to noise sd 1e-4; the first tier's intercept is an
    # extrapolation from x ~ 2 over an x range of ~0.2, so its OLS error is ~1e-3 (2.7e-3 here)
    for t, (a, b) in LINES.items():
        assert ols[t] == pytest.approx((a, b), abs=1e-2)
    settings = SamplerSettings.make(draws=150, tune=300, chains=1, seed=3)
    model, means = None, {}
    for centre in ("tier", "global"):
        td = bayes.prepare(cs, centre=centre)
        model, res = bayes.fit_variant(
            td,
            variant="nopool",
            likelihood="normal",
            settings=settings,
            model=model,
            swap=model is not None,
        )
        draws = bayes.raw_draws(res.idata, td)
        means[centre] = {k: float(v.mean()) for k, v in draws.items()}
        for t, (a, b) in ols.items():
            # posterior sd of the first tier's raw intercept is ~ 1e-4 * 2 / (0.3 sqrt 3) ~ 4e-4
            assert means[centre][f"intercept[{t}]"] == pytest.approx(a, abs=5e-3), (centre, t)
            assert means[centre][f"slope[{t}]"] == pytest.approx(b, abs=5e-3), (centre, t)
    # a wrong back-transform (global mean of x for a tier-centred fit) would be off by
    # slope_k (m_k - mean x), e.g. ~1.4 for the first tier: far outside the tolerance above
    shift = LINES["first"][1] * (X_MEANS[0] - df["x"].mean())
    assert abs(shift) > 1.0


@pytest.mark.filterwarnings("ignore::bayesres.errors.DataWarning")
def test_bad_centre_raises_spec_error_naming_option_and_values(tmp_path):
    cs = _cs(_frame())
    with pytest.raises(SpecError) as err:
        bayes.prepare(cs, centre="within")
    msg = err.value.one_line()
    assert "centre" in msg and "'within'" in msg and "'tier'" in msg and "'global'" in msg
    with pytest.raises(SpecError, match="centre"):
        from bayesres.regression import run

        run(_frame(), outcome="y", predictor="x", tier="tier", centre="mean", quick=True)
    p = tmp_path / "bad.toml"
    p.write_text('[spec]\nanalysis = "regression"\ndataset = "customs38"\n[options]\ncentre = 1\n')
    with pytest.raises(SpecError) as err:
        load_spec(p)
    msg = err.value.one_line()
    assert str(p) in msg and "centre" in msg and "'tier'" in msg and "'global'" in msg
    ok = tmp_path / "ok.toml"
    ok.write_text(
        '[spec]\nanalysis = "regression"\ndataset = "customs38"\n[options]\ncentre = "global"\n'
        '[[variants]]\nname = "v"\noptions = { centre = "tiers" }\n'
    )
    with pytest.raises(SpecError, match=r"variants\.v\.options\] centre"):
        load_spec(ok)
    # the spec's allowed values are the model's
    assert OPTION_VALUES["regression"]["centre"] == bayes.CENTRES


def test_spec_centre_reaches_run_kwargs(tmp_path):
    p = tmp_path / "g.toml"
    p.write_text(
        '[spec]\nanalysis = "regression"\ndataset = "customs38"\n[options]\ncentre = "global"\n'
    )
    assert load_spec(p).kwargs(quick=False, seed=0)["centre"] == "global"
