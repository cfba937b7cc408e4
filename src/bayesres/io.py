"""Reading user tables (CSV, Parquet, XLSX) with one-line errors, and atomic writes.

Inputs are opened read-only and never modified. Every output goes through a temporary file in the
target directory followed by ``os.replace``, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from bayesres.errors import DataError

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
            hint="Use .csv, .parquet or .xlsx.",
        )
    if p.stat().st_size == 0:
        raise DataError(
            "file is empty",
            file=name,
            hint="Export the table again with a header row and data rows.",
        )
    try:
        if SUPPORTED[suffix] == "CSV":
            df = _read_csv(p, name)
        elif SUPPORTED[suffix] == "Parquet":
            df = pd.read_parquet(p)
        else:
            df = _read_xlsx(p, name, sheet)
    except DataError:
        raise
    except Exception as exc:  # any parser failure becomes one line
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"cannot be parsed as {SUPPORTED[suffix]} ({msg})",
            file=name,
            hint=f"Save it as a valid {SUPPORTED[suffix]} file.",
        ) from None
    if df.shape[1] == 0:
        raise DataError("has no columns", file=name, hint="Add a header row with column names.")
    if len(df) == 0:
        raise DataError(
            "has a header but no data rows", file=name, hint="Add data rows below the header."
        )
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise DataError(
            "duplicated column names",
            file=name,
            column=[str(c) for c in dup],
            hint="Rename the columns so each name is unique.",
        )
    return df


def _read_csv(p: Path, name: str) -> pd.DataFrame:
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"is not UTF-8 encoded (invalid byte at line {line})",
            file=name,
            hint="Re-save the file as UTF-8 (for example 'Save as CSV UTF-8').",
        ) from None
    if not text.strip():
        raise DataError(
            "file is empty",
            file=name,
            hint="Export the table again with a header row and data rows.",
        )
    import io as _io

    try:
        return pd.read_csv(_io.StringIO(text))
    except pd.errors.EmptyDataError:
        raise DataError(
            "file is empty",
            file=name,
            hint="Export the table again with a header row and data rows.",
        ) from None
    except pd.errors.ParserError as exc:
        msg = str(exc).splitlines()[0]
        raise DataError(
            f"malformed CSV ({msg})",
            file=name,
            hint="Check the delimiter and quoting; every row needs the same number of fields as the header.",
        ) from None


def _read_xlsx(p: Path, name: str, sheet: str | int) -> pd.DataFrame:
    import openpyxl

    wb = openpyxl.load_workbook(p, read_only=False, data_only=True)
    ws = wb.worksheets[sheet] if isinstance(sheet, int) else wb[sheet]
    merged = [str(r) for r in ws.merged_cells.ranges if r.min_row == 1]
    if merged:
        raise DataError(
            f"the header row has merged cells ({', '.join(merged[:3])})",
            file=name,
            hint="Unmerge the header so every column has its own name in row 1.",
        )
    wb.close()
    df = pd.read_excel(p, sheet_name=sheet, engine="openpyxl")
    unnamed = [str(c) for c in df.columns if str(c).startswith("Unnamed:")]
    if unnamed:
        raise DataError(
            f"header row has {len(unnamed)} empty column name(s)",
            file=name,
            column=unnamed,
            hint="Give every column a name in the first row (no merged or blank header cells).",
        )
    return df


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
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
        tmp.write_bytes(data)
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
