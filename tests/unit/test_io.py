"""bayesres.io: reading CSV / Parquet / XLSX faithfully, and atomic writes."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import openpyxl
import pandas as pd
import pytest

from bayesres.errors import DataError, SpecError
from bayesres.io import (
    atomic_path,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_text,
    file_sha256,
    read_table,
)

FRAME = pd.DataFrame(
    {"city": ["Alpha", "Bravo", "Charlie"], "year": [2020, 2021, 2022], "y": [0.5, -1.25, 3.0]}
)


def test_csv_parquet_xlsx_read_the_same_table(tmp_path) -> None:
    FRAME.to_csv(tmp_path / "t.csv", index=False)
    FRAME.to_parquet(tmp_path / "t.parquet", index=False)
    FRAME.to_excel(tmp_path / "t.xlsx", index=False)
    for name in ("t.csv", "t.parquet", "t.xlsx"):
        df = read_table(tmp_path / name)
        assert df["city"].tolist() == FRAME["city"].tolist(), name
        np.testing.assert_allclose(df["y"].to_numpy(dtype=float), FRAME["y"].to_numpy())
        assert df["year"].tolist() == [2020, 2021, 2022]


def test_reading_leaves_the_file_byte_identical(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(b"\xef\xbb\xbfcity,y\r\nA,1\r\nB,2\r\n")  # BOM and CRLF, as Excel writes
    before = file_sha256(p)
    df = read_table(p)
    assert list(df.columns) == ["city", "y"]
    assert file_sha256(p) == before


def test_blank_rows_keep_spreadsheet_numbering(tmp_path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("city,y\nA,1\n\nB,2\n\n\n", encoding="utf-8")
    df = read_table(p)
    assert len(df) == 3  # the middle blank row stays (row 3), trailing ones go
    assert df["city"].isna().tolist() == [False, True, False]


def test_column_names_are_strings(tmp_path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["city", 2019, 2020])
    ws.append(["A", 1.0, 2.0])
    wb.save(tmp_path / "t.xlsx")
    assert list(read_table(tmp_path / "t.xlsx").columns) == ["city", "2019", "2020"]


def test_blank_header_over_an_empty_column_is_dropped(tmp_path) -> None:
    (tmp_path / "t.csv").write_text("city,y,\nA,1,\nB,2,\n", encoding="utf-8")
    assert list(read_table(tmp_path / "t.csv").columns) == ["city", "y"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["city", None, "y"])
    ws.append(["A", None, 1.0])
    wb.save(tmp_path / "t.xlsx")
    assert list(read_table(tmp_path / "t.xlsx").columns) == ["city", "y"]


def test_parquet_named_index_is_kept_as_a_column(tmp_path) -> None:
    FRAME.set_index("city").to_parquet(tmp_path / "t.parquet")
    df = read_table(tmp_path / "t.parquet")
    assert df["city"].tolist() == ["Alpha", "Bravo", "Charlie"]


def test_duplicated_names_are_caught_before_pandas_renames_them(tmp_path) -> None:
    (tmp_path / "t.csv").write_text("a,b,a.1,a\n1,2,3,4\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_table(tmp_path / "t.csv")
    assert e.value.column == "a" and "A1 and D1" in e.value.one_line()
    (tmp_path / "ok.csv").write_text("a,b,a.1\n1,2,3\n", encoding="utf-8")  # 'a.1' is a name
    assert list(read_table(tmp_path / "ok.csv").columns) == ["a", "b", "a.1"]


def test_missing_sheet_is_a_one_line_error(tmp_path) -> None:
    FRAME.to_excel(tmp_path / "t.xlsx", index=False)
    with pytest.raises(DataError, match="no sheet named 'data'"):
        read_table(tmp_path / "t.xlsx", sheet="data")


# --------------------------------------------------------------------------- atomic writes


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path) -> None:
    target = tmp_path / "sub" / "out.csv"
    atomic_write_csv(FRAME, target)
    pd.testing.assert_frame_equal(pd.read_csv(target), FRAME, check_dtype=False)
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.csv"]


def test_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise Boom
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_writing_onto_a_directory_is_a_spec_error(tmp_path) -> None:
    with pytest.raises(SpecError, match="is a directory"):
        atomic_write_text(tmp_path, "x")


def test_atomic_json_turns_nan_into_null(tmp_path) -> None:
    p = atomic_write_json(
        tmp_path / "r.json", {"a": math.nan, "b": np.float64(1.5), "c": np.arange(2)}
    )
    assert json.loads(p.read_text()) == {"a": None, "b": 1.5, "c": [0, 1]}


def test_file_sha256_matches_hashlib(tmp_path) -> None:
    import hashlib

    p = tmp_path / "f.bin"
    p.write_bytes(os.urandom(3000))
    assert file_sha256(p) == hashlib.sha256(p.read_bytes()).hexdigest()


def test_frame_remembers_its_source(tmp_path) -> None:
    FRAME.to_csv(tmp_path / "t.csv", index=False)
    assert read_table(tmp_path / "t.csv").attrs["source"] == str(tmp_path / "t.csv")
