"""Tidy tables, comparison layer and error formatting (core)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayesres.compare import compare_tables
from bayesres.errors import DataError, SpecError, format_rows
from bayesres.summary import TIDY_COLUMNS, frequentist_row, split_name, summarise_draws


def test_split_name():
    assert split_name("slope[first]") == ("slope", "first")
    assert split_name("ATT_gt[2004,2005]") == ("ATT_gt", "2004,2005")
    assert split_name("ATT") == ("ATT", "")


def test_summarise_draws_matches_normal_closed_form():
    # For N(1, 2^2) draws the 95 % HDI is the central interval 1 +- 1.96 * 2 (closed form).
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, size=(4, 50_000))
    out = summarise_draws({"theta": x}, method="test")
    row = out.iloc[0]
    assert list(out.columns[: len(TIDY_COLUMNS)]) == TIDY_COLUMNS
    assert row["estimate"] == pytest.approx(1.0, abs=0.02)
    assert row["std_error"] == pytest.approx(2.0, rel=0.01)
    q = stats.norm.ppf(0.975) * 2.0
    assert row["lower"] == pytest.approx(1.0 - q, abs=0.05)
    assert row["upper"] == pytest.approx(1.0 + q, abs=0.05)
    assert row["p_positive"] == pytest.approx(stats.norm.sf(0, 1, 2), abs=0.005)
    assert row["r_hat"] < 1.01 and row["ess_bulk"] > 10_000


def test_frequentist_row_t_interval_and_p_value():
    row = frequentist_row("slope", estimate=0.226, std_error=0.0635, method="OLS-HC1", df=35)
    q = stats.t.ppf(0.975, 35)
    assert row["lower"] == pytest.approx(0.226 - q * 0.0635)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(0.226 / 0.0635, 35))
    assert row["interval"] == "ci"


def test_compare_tables_z_and_ratio():
    b = pd.DataFrame([summarise_draws({"slope": np.random.default_rng(1).normal(0.3, 0.1, 40_000)}, method="b").iloc[0]])
    f = pd.DataFrame([frequentist_row("slope", estimate=0.2, std_error=0.05, method="OLS")])
    cmp = compare_tables(b, f)
    assert cmp.loc[0, "z"] == pytest.approx((b.loc[0, "estimate"] - 0.2) / 0.05)
    assert cmp.loc[0, "sd_over_se"] == pytest.approx(b.loc[0, "std_error"] / 0.05)
    assert bool(cmp.loc[0, "same_decision"]) is True


def test_error_messages_are_one_line_with_file_column_rows_and_hint():
    err = DataError("zero or negative values cannot be logged", file="x.csv", column="exports", rows=[5, 3, 3], hint="Drop --log.")
    text = err.one_line()
    assert text == "x.csv, column 'exports', rows 3, 5: zero or negative values cannot be logged. Drop --log."
    assert "\n" not in text and err.exit_code == 2
    assert SpecError("bad").exit_code == 2
    assert format_rows(range(2, 20)).endswith("(+10 more)")
