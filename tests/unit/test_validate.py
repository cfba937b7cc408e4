"""bayesres.validate: happy paths, summaries, tier rules and the one-line error format."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bayesres import datasets
from bayesres.errors import DataError, DataWarning, SpecError
from bayesres.validate import (
    IndicatorSpec,
    read_indicator_spec,
    sheet_rows,
    validate_cross_section,
    validate_indicators,
    validate_panel,
)


def cross_section(n_per_tier: dict[str, int] | None = None) -> pd.DataFrame:
    sizes = n_per_tier or {"first": 5, "second": 6, "other": 7}
    tiers = [t for t, n in sizes.items() for _ in range(n)]
    n = len(tiers)
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "city": [f"c{i:02d}" for i in range(n)],
            "tier": tiers,
            "y": rng.normal(size=n),
            "x": rng.uniform(0.1, 1.0, size=n),
            "z": rng.uniform(1.0, 9.0, size=n),
        }
    )


# --------------------------------------------------------------------------- cross-section


def test_valid_cross_section_and_summary() -> None:
    df = cross_section()
    cs = validate_cross_section(
        df, source="t.csv", outcome="y", predictor="x", controls=["z"], unit="city", tier="tier"
    )
    assert cs.n == 18
    np.testing.assert_array_equal(cs.y, df["y"].to_numpy())
    assert cs.z.shape == (18, 1)
    assert cs.tiers == ("first", "other", "second")  # sorted when no order is given
    assert cs.summary() == {
        "rows": 18,
        "units": 18,
        "tiers": {"first": 5, "other": 7, "second": 6},
    }
    assert cs.units[:2] == ["c00", "c01"]
    codes = cs.tier_codes
    assert [cs.tiers[c] for c in codes] == df["tier"].tolist()


def test_log_takes_logs_and_input_is_not_modified() -> None:
    df = cross_section()
    before = df.copy(deep=True)
    cs = validate_cross_section(
        df, source="t.csv", outcome="z", predictor="x", unit="city", log=True
    )
    np.testing.assert_allclose(cs.x, np.log(df["x"].to_numpy()))
    pd.testing.assert_frame_equal(df, before)
    assert cs.frame is not df


def test_reference_tier_goes_last_and_known_tiers_set_the_order() -> None:
    df = cross_section()
    cs = validate_cross_section(
        df, source="t.csv", outcome="y", predictor="x", tier="tier", reference_tier="first"
    )
    assert cs.tiers == ("other", "second", "first")
    cs = validate_cross_section(
        df,
        source="t.csv",
        outcome="y",
        predictor="x",
        tier="tier",
        tiers=["second", "first", "other", "unused"],
    )
    assert cs.tiers == ("second", "first", "other")


def test_bad_reference_tier_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as e:
        validate_cross_section(
            cross_section(),
            source="t.csv",
            outcome="y",
            predictor="x",
            tier="tier",
            reference_tier="capital",
        )
    assert e.value.exit_code == 2
    assert "'capital'" in e.value.one_line() and "first, other, second" in e.value.one_line()


def test_small_tier_warns_and_single_unit_tier_fails() -> None:
    df = cross_section({"first": 4, "second": 6, "other": 7})
    with pytest.warns(DataWarning, match="tier 'first' has only 4 units"):
        validate_cross_section(df, source="t.csv", outcome="y", predictor="x", tier="tier")
    df = cross_section({"first": 1, "second": 6, "other": 7})
    with pytest.raises(DataError) as e:
        validate_cross_section(df, source="t.csv", outcome="y", predictor="x", tier="tier")
    assert e.value.rows == [2] and e.value.column == "tier"


def test_no_warning_when_every_tier_has_five_units() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_cross_section(
            cross_section(), source="t.csv", outcome="y", predictor="x", tier="tier"
        )


def test_data_error_format() -> None:
    df = cross_section()
    df["x"] = df["x"].astype(object)
    df.loc[1, "x"] = "n.a."
    df.loc[4, "x"] = "?"
    with pytest.raises(DataError) as e:
        validate_cross_section(df, source="data/cities.csv", outcome="y", predictor="x")
    err = e.value
    assert err.exit_code == 2
    assert (err.file, err.column, err.rows) == ("data/cities.csv", "x", [3, 6])
    line = err.one_line()
    assert "\n" not in line
    assert line.startswith("data/cities.csv, column 'x', rows 3, 6: non-numeric values")
    assert line.endswith("Fix or remove those cells; numbers only, '.' as decimal separator.")


def test_missing_column_suggests_the_near_match() -> None:
    df = cross_section().rename(columns={"x": " X "})
    with pytest.raises(DataError, match=r"Did you mean ' X '\?"):
        validate_cross_section(df, source="t.csv", outcome="y", predictor="x")


def test_exports_must_be_positive_only_when_they_are_logged() -> None:
    df = cross_section()
    df["exp_2019"] = 1.0
    df.loc[3, "exp_2019"] = 0.0
    df["x"] = -df["x"]  # a negative predictor is fine without --log
    ok = validate_cross_section(
        df, source="t.csv", outcome=None, predictor="x", extra_numeric=["exp_2019"]
    )
    assert ok.n == len(df)
    with pytest.raises(DataError) as e:
        validate_cross_section(
            df,
            source="t.csv",
            outcome=None,
            predictor="x",
            extra_numeric=["exp_2019"],
            extra_positive=True,
        )
    assert e.value.column == "exp_2019" and e.value.rows == [5]
    assert "--log" not in e.value.one_line()


def test_dates_are_not_numbers() -> None:
    df = cross_section()
    df["x"] = pd.date_range("2020-01-01", periods=len(df))
    with pytest.raises(DataError, match="holds dates"):
        validate_cross_section(df, source="t.csv", outcome="y", predictor="x")


def test_sheet_rows_numbers_like_a_spreadsheet() -> None:
    assert sheet_rows([0, 1, 9]) == [2, 3, 11]


# --------------------------------------------------------------------------- indicators


SPEC = pd.DataFrame(
    {
        "indicator": ["a", "b", "c"],
        "dimension": ["econ", "econ", "eco"],
        "direction": ["positive", "-1", "negative"],
    }
)


def indicator_table(years: tuple[int, ...] = (2020,)) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = [
        {"city": c, "year": y, "tier": "big" if i < 5 else "small"}
        for i, c in enumerate("ABCDEFGHIJ")
        for y in years
    ]
    df = pd.DataFrame(rows)
    for col in "abc":
        df[col] = rng.uniform(1, 10, size=len(df))
    return df


def test_indicator_spec_from_frame() -> None:
    spec = IndicatorSpec.from_frame(SPEC, source="spec.csv")
    assert spec.indicators == ("a", "b", "c")
    assert spec.directions == (1, -1, -1)
    assert spec.dimension_levels == ("econ", "eco")
    np.testing.assert_array_equal(spec.dimension_index, [0, 0, 1])
    assert spec.origin("c") == "spec.csv row 4"
    assert spec == IndicatorSpec(("a", "b", "c"), ("econ", "econ", "eco"), (1, -1, -1), spec.labels)


def test_indicator_spec_toml_tables_and_mapping(tmp_path) -> None:
    p = tmp_path / "spec.toml"
    p.write_text(
        '[[indicator]]\nindicator = "a"\ndimension = "econ"\ndirection = "positive"\n'
        '[[indicator]]\nindicator = "b"\ndimension = "eco"\ndirection = "negative"\n',
        encoding="utf-8",
    )
    spec = read_indicator_spec(p)
    assert spec.directions == (1, -1) and spec.origin("b").endswith("[[indicator]] entry 2")
    p.write_text(
        '[indicators.a]\ndimension = "econ"\ndirection = "positive"\n'
        '[indicators.b]\ndimension = "eco"\ndirection = "negative"\n',
        encoding="utf-8",
    )
    assert read_indicator_spec(p).indicators == ("a", "b")
    p.write_text('[indicators]\na = "positive"\n', encoding="utf-8")
    with pytest.raises(SpecError, match="not a table of keys"):
        read_indicator_spec(p)


def test_valid_indicators_cross_section_and_summary() -> None:
    spec = IndicatorSpec.from_frame(SPEC)
    it = validate_indicators(
        indicator_table(), source="ind.csv", spec=spec, unit="city", tier="tier"
    )
    assert it.values.shape == (10, 3)
    assert it.summary() == {
        "rows": 10,
        "units": 10,
        "indicators": 3,
        "dimensions": 2,
        "tiers": {"big": 5, "small": 5},
    }


def test_indicator_panel_balanced_and_unbalanced() -> None:
    spec = IndicatorSpec.from_frame(SPEC)
    df = indicator_table((2019, 2020, 2021))
    s = validate_indicators(df, source="i.csv", spec=spec, unit="city", time="year").summary()
    assert s["balanced"] is True and s["periods"] == [2019, 2021] and s["rows"] == 30
    s = validate_indicators(
        df.drop(index=4), source="i.csv", spec=spec, unit="city", time="year"
    ).summary()
    assert s["balanced"] is False and s["units"] == 10


# --------------------------------------------------------------------------- panel


def test_mpdta_panel_summary() -> None:
    """Counts from methods.md section 5.1: 500 counties, cohorts 2004/2006/2007 and never."""
    df = datasets.load("mpdta")
    p = validate_panel(
        df, source="mpdta", unit="countyreal", time="year", cohort="first.treat", outcome="lemp"
    )
    s = p.summary()
    assert s["rows"] == 2500 and s["units"] == 500 and s["balanced"] is True
    assert s["periods"] == [2003, 2007]
    assert s["cohorts"] == {0: 309, 2004: 20, 2006: 40, 2007: 131}
    assert p.cohorts == (2004, 2006, 2007)
    assert int(p.treated.sum()) == 291  # treated county-years (BJS: 291 treated obs)


def test_unbalanced_panel_is_allowed_and_flagged() -> None:
    df = datasets.load("mpdta").drop(index=[0, 7])
    p = validate_panel(df, source="mpdta", unit="countyreal", time="year", cohort="first.treat")
    assert p.balanced is False and p.summary()["units"] == 500


def test_panel_text_cohorts_with_blanks_mean_never_treated_without_warnings() -> None:
    """pandas 3 reads a cohort column with text as str dtype; blanks are never treated."""
    units = [f"u{i}" for i in range(6)]
    cohort = {"u0": "2003", "u1": "2003", "u2": "", "u3": "", "u4": "2004", "u5": None}
    df = pd.DataFrame(
        [
            {"unit": u, "year": t, "g": cohort[u], "y": 1.0 + t / 1000}
            for u in units
            for t in (2001, 2002, 2003, 2004)
        ]
    )
    df["g"] = df["g"].astype("str")
    df.loc[df["g"] == "None", "g"] = None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = validate_panel(df, source="p.csv", unit="unit", time="year", cohort="g", outcome="y")
    assert p.summary()["cohorts"] == {0: 3, 2003: 2, 2004: 1}


def test_panel_tiers_are_counted_in_units() -> None:
    df = datasets.load("mpdta")
    df["size"] = np.where(df["countyreal"] % 2 == 0, "even", "odd")
    p = validate_panel(
        df, source="mpdta", unit="countyreal", time="year", cohort="first.treat", tier="size"
    )
    tiers = p.summary()["tiers"]
    assert sum(tiers.values()) == 500 and set(tiers) == {"even", "odd"}


def test_treatment_column_checked_against_cohort() -> None:
    df = datasets.load("mpdta")
    df["d"] = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(int)
    p = validate_panel(
        df, source="mpdta", unit="countyreal", time="year", cohort="first.treat", treat="d"
    )
    np.testing.assert_array_equal(p.treated, df["d"].to_numpy())
    with pytest.raises(DataError, match="disagrees with the cohort") as e:
        validate_panel(  # mpdta's own 'treat' is ever-treated, not a period-level indicator
            df, source="mpdta", unit="countyreal", time="year", cohort="first.treat", treat="treat"
        )
    assert e.value.column == ["treat", "first.treat"]
