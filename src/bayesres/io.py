"""Reading user tables (CSV, Parquet, XLSX) with one-line errors, and atomic writes.

Inputs are opened read-only and never modified. Every output goes through a temporary file in the
target directory followed by ``os.replace``, so a crash never leaves half a file behind.

Rows are numbered as in a spreadsheet: the header is row 1, the first data row is row 2. To keep
that numbering true, blank rows in the middle of a CSV are kept (as empty rows, which validation
then reports by number) and only trailing blank rows are dropped. Column names are always strings.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io as _io
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bayesres.errors import DataError, SpecError

__all__ = [
    "read_table",
    "file_sha256",
    "atomic_path",
    "atomic_write_text",
    "atomic_write_bytes",
    "atomic_write_csv",
    "atomic_write_json",
]

SUPPORTED = {".csv": "CSV", ".txt": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".xlsx": "XLSX"}
HEADER_ROW = 1

_EMPTY_HINT = "Export the table again with a header row and data rows."


def _letter(pos: int) -> str:
    """0-based column position → spreadsheet column letter (0 → A, 26 → AA)."""
    out = ""
    n = pos + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def read_table(path: str | os.PathLike[str], *, sheet: str | int = 0) -> pd.DataFrame:
    """Read a CSV, Parquet or XLSX file into a DataFrame, or raise a one-line ``DataError``."""
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise DataError(
            "file not found", file=name, hint="Check the path (relative to the current directory)."
        )
    if p.is_dir():
        raise DataError(
            "is a directory, not a data file", file=name, hint="Pass a CSV, Parquet or XLSX file."
        )
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED:
        raise DataError(
            f"unsupported file type {suffix or '(none)'!r}",
            file=name,
            hint="Save the table as .csv, .parquet or .xlsx.",
        )
    kind = SUPPORTED[suffix]
    try:
        size = p.stat().st_size
        with open(p, "rb"):
            pass
    except OSError as exc:
        raise DataError(
            f"cannot be opened ({exc.strerror or type(exc).__name__})",
            file=name,
            hint="Check the file's permissions.",
        ) from None
    if size == 0:
        raise DataError("file is empty (0 bytes)", file=name, hint=_EMPTY_HINT)
    try:
        # parser chatter (openpyxl styles, dtype guesses) stays quiet
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "CSV":
                df = _read_csv(p, name)
            elif kind == "Parquet":
                df = _read_parquet(p, name)
            else:
                df = _read_xlsx(p, name, sheet)
    except DataError:
        raise
    except Exception as exc:  # any other parser failure becomes one line
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"cannot be parsed as {kind} ({type(exc).__name__}: {msg})",
            file=name,
            hint=f"Open it in the program that made it and save it again as {kind}.",
        ) from None
    df.columns = [str(c) for c in df.columns]
    df = _drop_trailing_blank_rows(df)
    if df.shape[1] == 0:
        raise DataError("has no columns", file=name, hint="Add a header row with column names.")
    if len(df) == 0:
        raise DataError(
            "has a header but no data rows",
            file=name,
            rows=[HEADER_ROW + 1],
            hint="Add data rows below the header.",
        )
    if df.shape[1] == 1 and kind == "CSV":
        head = str(df.columns[0])
        for sep, label in ((";", "semicolon"), ("\t", "tab")):
            if sep in head:
                raise DataError(
                    f"one column named {head[:40]!r}: the file looks {label}-separated",
                    file=name,
                    rows=[HEADER_ROW],
                    hint="Save it as comma-separated CSV.",
                )
    df.attrs["source"] = name  # so analyses can name the file in their own messages
    return df


def _drop_trailing_blank_rows(df: pd.DataFrame) -> pd.DataFrame:
    if len(df) == 0 or df.shape[1] == 0:
        return df
    filled = df.notna().to_numpy().any(axis=1)
    last = len(filled) - 1
    while last >= 0 and not filled[last]:
        last -= 1
    return df.iloc[: last + 1].reset_index(drop=True) if last < len(df) - 1 else df


def _check_names(
    header: Sequence[Any], name: str, has_data: Callable[[int], bool] | None = None
) -> None:
    """Blank or duplicated names in the header row (row 1), named by column letter.

    A blank header cell over a column with no data (formatting left past the table) is allowed
    when ``has_data`` says so; the reader drops such columns.
    """
    blank = [i for i, h in enumerate(header) if h is None or str(h).strip() == ""]
    blank = [i for i in blank if has_data is None or has_data(i)]
    if blank:
        cells = ", ".join(f"{_letter(i)}{HEADER_ROW}" for i in blank[:5])
        raise DataError(
            f"blank header cell {cells} over a column with data (column {_letter(blank[0])})",
            file=name,
            rows=[HEADER_ROW],
            hint="Give every column a name in the first row (no merged or blank header cells).",
        )
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        if h is None or str(h).strip() == "":
            continue
        key = str(h)
        if key in seen:
            raise DataError(
                f"duplicated column name in header cells {_letter(seen[key])}{HEADER_ROW} and "
                f"{_letter(i)}{HEADER_ROW}",
                file=name,
                column=key,
                rows=[HEADER_ROW],
                hint="Rename the columns so each name is unique.",
            )
        seen[key] = i


def _drop_empty_unnamed(df: pd.DataFrame) -> pd.DataFrame:
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed:") and df[c].isna().all()]
    return df.drop(columns=unnamed) if unnamed else df


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Locate the offending cells: latin-1 maps every byte to one character, so parsing that text
    # gives the same records and fields, and a field is bad if its bytes are not valid UTF-8.
    header: list[str] = []
    bad: list[tuple[int, int]] = []
    with contextlib.suppress(csv.Error):
        for r, rec in enumerate(csv.reader(_io.StringIO(raw.decode("latin-1"), newline=""))):
            if r == 0:
                header = rec
            for c, field in enumerate(rec):
                try:
                    field.encode("latin-1").decode("utf-8")
                except UnicodeDecodeError:
                    bad.append((r + 1, c))
    cols = list(dict.fromkeys(header[c] if c < len(header) else _letter(c) for _, c in bad))
    raise DataError(
        "is not UTF-8 encoded (latin-1 or another legacy encoding?)",
        file=name,
        column=(cols[0] if len(cols) == 1 else cols) if cols else None,
        rows=[r for r, _ in bad] or None,
        hint="Re-save the file as UTF-8 (for example 'CSV UTF-8' in Excel).",
    )


def _read_csv(p: Path, name: str) -> pd.DataFrame:
    text = _decode(p.read_bytes(), name)
    if not text.strip():
        raise DataError("file is empty (no header row)", file=name, hint=_EMPTY_HINT)
    if "\x00" in text:
        raise DataError(
            "contains NUL bytes (binary data, not CSV text)",
            file=name,
            hint="Export the table as CSV text from the program that made it.",
        )
    try:
        records = list(csv.reader(_io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise DataError(
            f"malformed CSV ({exc})",
            file=name,
            hint="Check the quoting: every opening quote needs a closing quote.",
        ) from None
    header = records[0]
    body = records[1:]
    _check_names(header, name, lambda i: any(len(r) > i and r[i].strip() for r in body))
    ragged = [
        i + 1 for i, rec in enumerate(records[1:], start=1) if rec and len(rec) != len(header)
    ]
    if ragged:
        first = records[ragged[0] - 1]
        raise DataError(
            f"malformed CSV: ragged rows ({len(first)} fields where the header has {len(header)})",
            file=name,
            rows=ragged,
            hint="Check the delimiter and quoting; every row needs as many fields as the header.",
        )
    try:
        return _drop_empty_unnamed(pd.read_csv(_io.StringIO(text), skip_blank_lines=False))
    except pd.errors.EmptyDataError:
        raise DataError("file is empty (no header row)", file=name, hint=_EMPTY_HINT) from None
    except pd.errors.ParserError as exc:
        msg = str(exc).splitlines()[0]
        raise DataError(
            f"malformed CSV ({msg})",
            file=name,
            hint="Check the delimiter and quoting; every row needs as many fields as the header.",
        ) from None


def _read_parquet(p: Path, name: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    names = [f for f in pq.read_schema(p).names if f != "__index_level_0__"]
    _check_names(names, name)
    df = pd.read_parquet(p)
    if not isinstance(df.index, pd.RangeIndex):  # a stored index (e.g. city) is data: keep it
        df = df.reset_index()
    return df


def _read_xlsx(p: Path, name: str, sheet: str | int) -> pd.DataFrame:
    import openpyxl

    wb = openpyxl.load_workbook(p, read_only=False, data_only=True)
    try:
        if isinstance(sheet, int):
            if sheet >= len(wb.worksheets):
                raise DataError(
                    f"has {len(wb.worksheets)} sheet(s); sheet {sheet} does not exist",
                    file=name,
                    hint="Put the table on the first sheet.",
                )
            ws = wb.worksheets[sheet]
        else:
            if sheet not in wb.sheetnames:
                raise DataError(
                    f"no sheet named {sheet!r} (sheets: {', '.join(wb.sheetnames)})",
                    file=name,
                    hint="Pass an existing sheet name.",
                )
            ws = wb[sheet]
        merged = [r for r in ws.merged_cells.ranges if r.min_row <= HEADER_ROW]
        if merged:
            first = merged[0]
            label = ws.cell(first.min_row, first.min_col).value
            raise DataError(
                f"the header row has merged cells ({', '.join(str(r) for r in merged[:3])})",
                file=name,
                column=str(label) if label is not None else None,
                rows=[HEADER_ROW],
                hint="Unmerge the header so every column has its own name in row 1.",
            )
        header = [c.value for c in next(ws.iter_rows(min_row=1, max_row=1), ())]

        def has_data(i: int) -> bool:
            cells = ws.iter_cols(min_col=i + 1, max_col=i + 1, min_row=2, values_only=True)
            return any(v is not None and str(v).strip() != "" for col in cells for v in col)

        _check_names([str(h) if h is not None else None for h in header], name, has_data)
    finally:
        wb.close()
    return _drop_empty_unnamed(pd.read_excel(p, sheet_name=sheet, engine="openpyxl"))


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    On any failure the temporary file is removed and an existing ``path`` is left untouched.
    """
    target = Path(path)
    if target.is_dir():
        raise SpecError(
            "is a directory, cannot write a file there",
            file=str(path),
            hint="Give a file path (for example out.csv).",
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise SpecError(
            f"cannot write here ({exc.strerror or type(exc).__name__})",
            file=str(path),
            hint="Choose a writable location.",
        ) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(
    df: pd.DataFrame, path: str | os.PathLike[str], *, index: bool = False
) -> Path:
    return atomic_write_text(path, df.to_csv(index=index, lineterminator="\n"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write JSON atomically; NaN and infinities become ``null`` (JSON has no NaN)."""
    return atomic_write_text(
        path, json.dumps(_clean(obj), indent=2, default=_json_default, allow_nan=False) + "\n"
    )


def _clean(o: Any) -> Any:
    import math

    import numpy as np

    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.ndarray):
        return [_clean(v) for v in o.tolist()]
    if isinstance(o, (float, np.floating)):
        f = float(o)
        return f if math.isfinite(f) else None
    return o


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
