"""Bayesian bootstrap, ordinary bootstrap, Dirichlet sensitivity and hand-off: SYNTHETIC data only.

References: methods.md section 1.2 A worked example ([V], 4000 draws, literal share formula):
E[w] = (.339, .348, .313), P(city 4 ranked 1st) = .912, P(city 2 ranked 1st) = .088; the ordinary
bootstrap must equal the exact EWM of the explicitly resampled table (computed here with the
lead's kernel on the resampled rows, independently of the matrix-product path).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesres.index import prepare, run
from bayesres.index.bootstrap import bootstrap_weights, ordinary_bootstrap_weights
from bayesres.index.entropy import entropy_from_normalised
from bayesres.index.ewm import arrays_from_table, exact_entropy
from bayesres.index.sensitivity import dirichlet_weights

X = np.array([[5, 10, 3.0], [8, 40, 2.5], [6, 20, 4.0], [12, 90, 3.5]])
SPEC = pd.DataFrame(
    {
        "indicator": ["gdp_pc", "patents", "unemployment"],
        "dimension": ["economy", "innovation", "society"],
        "direction": ["positive", "positive", "negative"],
    }
)


def example() -> pd.DataFrame:
    df = pd.DataFrame(X, columns=SPEC["indicator"])
    df["city"] = ["c1", "c2", "c3", "c4"]
    df.attrs["synthetic"] = True
    return df


def synthetic_panel(n: int = 12, t: int = 4, seed: int = 0) -> pd.DataFrame:
    """SYNTHETIC balanced panel with tiers and three indicators (one negative)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        level = rng.normal()
        for y in range(2015, 2015 + t):
            rows.append(
                {
                    "city": f"city{i:02d}",
                    "year": y,
                    "tier": "big" if i < n // 2 else "small",
                    "a": np.exp(level + 0.3 * rng.normal()),
                    "b": level + rng.normal(),
                    "c": -level + rng.normal(),
                }
            )
    df = pd.DataFrame(rows)
    df.attrs["synthetic"] = True
    return df


PSPEC = pd.DataFrame(
    {
        "indicator": ["a", "b", "c"],
        "dimension": ["x", "x", "y"],
        "direction": ["positive", "positive", "negative"],
    }
)


def test_literal_shares_estimand_reproduces_methods_1_2():
    r = run(
        example(),
        unit="city",
        indicators=SPEC,
        shift=0.0,
        draws=4000,
        seed=1,
        estimand="shares",
        save_draws=10,
    )
    est = r.estimates.set_index("quantity")["estimate"]
    w = est[[f"weight[{i}]" for i in SPEC["indicator"]]].to_numpy()
    np.testing.assert_allclose(w, [0.339, 0.348, 0.313], atol=0.02)
    p1 = r.tables["ranks"].set_index("unit")["p_top_1"]
    assert abs(p1["c4"] - 0.912) < 0.02
    assert abs(p1["c2"] - 0.088) < 0.02


def test_same_seed_same_numbers_and_seed_matters():
    a = run(example(), unit="city", indicators=SPEC, draws=500, seed=3)
    b = run(example(), unit="city", indicators=SPEC, draws=500, seed=3)
    c = run(example(), unit="city", indicators=SPEC, draws=500, seed=4)
    pd.testing.assert_frame_equal(a.estimates, b.estimates)
    pd.testing.assert_frame_equal(a.tables["index_draws"], b.tables["index_draws"])
    assert not np.allclose(a.estimates["estimate"], c.estimates["estimate"])


def test_ordinary_bootstrap_equals_ewm_of_resampled_table():
    table = prepare(synthetic_panel(), unit="city", indicators=PSPEC, time="year")
    arr = arrays_from_table(table)
    ex = exact_entropy(arr)
    w = ordinary_bootstrap_weights(ex.z, arr, draws=5, seed=11)
    rng = np.random.default_rng(11)  # same stream as the function: multinomial counts per unit
    counts = rng.multinomial(arr.n_units, np.full(arr.n_units, 1 / arr.n_units), size=5)
    for s in range(5):
        rows = np.concatenate(
            [np.repeat(np.flatnonzero(arr.unit_codes == u), c) for u, c in enumerate(counts[s])]
        )
        ref = entropy_from_normalised(ex.z[rows])[2]
        np.testing.assert_allclose(w[s, 0], ref, rtol=1e-10)


def test_resample_bootstrap_is_centred_on_exact_weights():
    table = prepare(synthetic_panel(n=40, t=3, seed=2), unit="city", indicators=PSPEC, time="year")
    arr = arrays_from_table(table)
    ex = exact_entropy(arr)
    w = bootstrap_weights(ex.z, arr, draws=4000, seed=0)[:, 0]
    sd = w.std(axis=0)
    assert np.all(np.abs(w.mean(axis=0) - ex.weights.to_numpy()) < 0.25 * sd)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)


def test_panel_outputs_names_tables_and_handoff():
    r = run(
        synthetic_panel(),
        unit="city",
        indicators=PSPEC,
        time="year",
        tier="tier",
        draws=400,
        save_draws=25,
        seed=0,
    )
    q = set(r.estimates["quantity"])
    assert {
        "weight[a]",
        "dimension_weight[x]",
        "score[city03,2016]",
        "rank[city03]",
        "tier_score[big]",
        "unit_score[city03]",
    } <= q
    assert set(r.frequentist["quantity"]) >= {"weight[a]", "rank[city03]"}
    draws = r.tables["index_draws"]
    assert list(draws.columns) == ["unit"] + [f"draw_{k}" for k in range(25)]
    assert len(draws) == 12
    # hand-off values are unit means of the row scores of some draw: inside the observed range
    assert draws.iloc[:, 1:].to_numpy().min() >= 0
    ranks = r.tables["ranks"]
    assert (ranks["rank_lower"] <= ranks["rank_median"]).all()
    assert (ranks["rank_median"] <= ranks["rank_upper"]).all()
    assert np.allclose(ranks["p_top_1"].sum(), 1.0)
    doc = r.to_json()
    assert doc["analysis"] == "index" and doc["diagnostics"] is None
    assert doc["data"]["synthetic"] is True


def test_per_year_panel_bootstrap_names_weights_by_time():
    r = run(
        synthetic_panel(),
        unit="city",
        indicators=PSPEC,
        time="year",
        panel="per-year",
        draws=200,
        seed=0,
    )
    assert "weight[a,2016]" in set(r.estimates["quantity"])
    assert r.settings["panel"] == "per-year"


def test_dirichlet_draws_centred_with_two_levels():
    centre = np.array([0.1, 0.3, 0.2, 0.4])
    dim = np.array([0, 0, 1, 1])
    w = dirichlet_weights(centre, dim, draws=20000, seed=1, kappa_dimension=20, kappa_within=50)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(w.mean(axis=0), centre, atol=0.005)
    # dimension weight W_0 ~ Beta(20 * .4, 20 * .6): sd = sqrt(.4 * .6 / 21)
    assert abs(w[:, :2].sum(axis=1).std() - np.sqrt(0.24 / 21)) < 0.005


def test_dirichlet_method_runs_and_notes_sensitivity():
    r = run(example(), unit="city", indicators=SPEC, method="dirichlet", draws=300, seed=0)
    assert r.settings["kappa"] == 20
    assert any("sensitivity" in n for n in r.notes)


def test_entropy_method_has_no_posterior():
    r = run(example(), unit="city", indicators=SPEC, method="entropy")
    assert r.idata is None and len(r.estimates) == 0
    assert r.frequentist.set_index("quantity").loc["rank[c4]", "estimate"] == 1


def test_unknown_method_is_a_spec_error():
    from bayesres.errors import SpecError

    with pytest.raises(SpecError):
        run(example(), unit="city", indicators=SPEC, method="magic")
