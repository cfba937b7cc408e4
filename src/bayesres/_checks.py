"""Column and design checks shared by the validators of :mod:`bayesres.validate`.

Each raises a one-line ``DataError`` naming the file, the column and the rows (spreadsheet
numbering: the header is row 1) and saying what to do.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from bayesres.config import TIER_MIN_UNITS, TIER_WARN_UNITS
from bayesres.errors import DataError, DataWarning

HEADER_ROWS = 1


def sheet_rows(index: Iterable[int]) -> list[int]:
    """Positional (0-based) data-row indices → spreadsheet row numbers (header is row 1)."""
    return [int(i) + 1 + HEADER_ROWS for i in index]


# --------------------------------------------------------------------------- column checks


def _require_columns(df: pd.DataFrame, columns: Sequence[str], source: str, what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        avail = ", ".join(map(str, list(df.columns)[:12]))
        more = " ..." if df.shape[1] > 12 else ""
        near = {str(c).strip().casefold(): str(c) for c in df.columns}
        close = near.get(str(missing[0]).strip().casefold())
        hint = (
            f"Did you mean {close!r}? Pass the exact column name (spaces and case count)."
            if close is not None
            else "Pass the right column name with the matching option or rename the column."
        )
        raise DataError(
            f"{what} column not found (available: {avail}{more})",
            file=source,
            column=missing[0] if len(missing) == 1 else missing,
            hint=hint,
        )


def _numeric(
    df: pd.DataFrame,
    columns: Sequence[str],
    source: str,
    *,
    positive: bool = False,
    positive_hint: str = "Drop --log, or fix or remove those rows.",
) -> pd.DataFrame:
    """Coerce ``columns`` to float through a pandera schema; raise on text, missing or <= 0."""
    import pandera.pandas as pa

    out = df.copy()
    for col in columns:  # one column at a time so the first failing column is named alone
        raw = out[col]
        if (
            isinstance(raw.dtype, pd.DatetimeTZDtype)
            or pd.api.types.is_datetime64_any_dtype(raw.dtype)
            or pd.api.types.is_timedelta64_dtype(raw.dtype)
        ):
            raise DataError(
                f"holds dates ({raw.dtype}), not numbers",
                file=source,
                column=col,
                rows=sheet_rows(np.flatnonzero(raw.notna().to_numpy())),
                hint="Store plain numbers (for a period column, the year as a whole number).",
            )
        num = pd.to_numeric(raw, errors="coerce")
        bad_text = np.flatnonzero(num.isna().to_numpy() & raw.notna().to_numpy())
        if bad_text.size:
            example = str(raw.iloc[bad_text[0]])[:20]
            raise DataError(
                f"non-numeric values (e.g. {example!r})",
                file=source,
                column=col,
                rows=sheet_rows(bad_text),
                hint="Fix or remove those cells; numbers only, '.' as decimal separator.",
            )
        missing = np.flatnonzero(
            num.isna().to_numpy() | ~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))
        )
        if missing.size:
            raise DataError(
                "missing or non-finite values",
                file=source,
                column=col,
                rows=sheet_rows(missing),
                hint="Fill the cells or drop those rows before the analysis.",
            )
        out[col] = num.astype(float)
    checks = {c: pa.Column(float, nullable=False) for c in columns}
    try:
        pa.DataFrameSchema(checks).validate(out[list(columns)])
    except pa.errors.SchemaError as exc:  # pragma: no cover - the loop above catches these first
        first = str(exc).splitlines()[0] if str(exc) else "schema check failed"
        raise DataError(
            first, file=source, column=list(columns), hint="Fix the column types."
        ) from None
    if positive:
        for col in columns:
            nonpos = np.flatnonzero(out[col].to_numpy() <= 0)
            if nonpos.size:
                raise DataError(
                    "zero or negative values cannot be logged",
                    file=source,
                    column=col,
                    rows=sheet_rows(nonpos),
                    hint=positive_hint,
                )
    return out


def _text_column(df: pd.DataFrame, col: str, source: str, what: str) -> pd.Series:
    s = df[col]
    missing = np.flatnonzero(s.isna().to_numpy() | (s.astype(str).str.strip() == "").to_numpy())
    if missing.size:
        raise DataError(
            f"empty {what} labels",
            file=source,
            column=col,
            rows=sheet_rows(missing),
            hint=f"Give every row a {what} label.",
        )
    return s.astype(str).str.strip()


def _check_tiers(
    tier_of_unit: pd.Series,
    *,
    source: str,
    column: str,
    rows_of_tier: dict[str, list[int]],
    known: Sequence[str] | None,
) -> tuple[str, ...]:
    """Known labels, >= 2 units per tier (error), < 5 units (warning). Returns ordered levels."""
    levels = list(dict.fromkeys(sorted(tier_of_unit.unique(), key=str)))
    if known is not None:
        unknown = [t for t in levels if t not in known]
        if unknown:
            rows = [r for t in unknown for r in rows_of_tier[t]]
            raise DataError(
                f"unknown tier label {unknown[0]!r} (expected one of: {', '.join(map(str, known))})",
                file=source,
                column=column,
                rows=rows,
                hint="Correct the labels or add the tier to the list of known tiers.",
            )
        levels = [t for t in known if t in set(levels)]
    sizes = tier_of_unit.value_counts()
    for t in levels:
        n = int(sizes[t])
        if n < TIER_MIN_UNITS:
            raise DataError(
                f"tier {t!r} has {n} unit; a tier needs at least {TIER_MIN_UNITS}",
                file=source,
                column=column,
                rows=rows_of_tier[t],
                hint="Merge it into a neighbouring tier or drop the tier option.",
            )
        if n < TIER_WARN_UNITS:
            warnings.warn(
                f"{source}: column {column!r}: tier {t!r} has only {n} units; its estimates lean on "
                "the hierarchical prior (report the prior sensitivity).",
                DataWarning,
                stacklevel=3,
            )
    return tuple(levels)


def _rows_by_label(labels: pd.Series) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for pos, lab in enumerate(labels.to_numpy()):
        out.setdefault(lab, []).append(pos + 1 + HEADER_ROWS)
    return out


def _unit_tiers(
    frame: pd.DataFrame, *, unit: str, tier: str, source: str, known: Sequence[str] | None
) -> tuple[str, ...]:
    """Tier labels of a long table (several rows per unit): one tier per unit, sizes in units.

    Cleans ``frame[tier]`` in place (the frame is the validator's own copy).
    """
    labels = _text_column(frame, tier, source, "tier")
    frame[tier] = labels
    per_unit = frame.groupby(unit, sort=False)[tier].nunique()
    if (per_unit > 1).any():
        u = per_unit.index[per_unit > 1][0]
        rows = np.flatnonzero((frame[unit] == u).to_numpy())
        found = ", ".join(repr(t) for t in dict.fromkeys(frame[tier].iloc[rows]))
        raise DataError(
            f"unit {u!r} has more than one tier ({found})",
            file=source,
            column=tier,
            rows=sheet_rows(rows),
            hint="A unit belongs to one tier; give all its rows the same label.",
        )
    first = frame.drop_duplicates(unit)
    return _check_tiers(
        first[tier], source=source, column=tier, rows_of_tier=_rows_by_label(labels), known=known
    )


def _dup_keys(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, str]:
    """Positions of rows sharing a key, and the first duplicated key for the message."""
    dup = np.flatnonzero(frame.duplicated(subset=keys, keep=False).to_numpy())
    if not dup.size:
        return dup, ""
    first = frame.iloc[dup[0]]
    return dup, ", ".join(f"{k} {_show(first[k])}" for k in keys)


def _show(v: object) -> str:
    """A value for a message: strings quoted, numbers plain (no ``np.int64(...)``)."""
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (np.integer, np.floating)):
        return f"{v.item():g}" if isinstance(v, np.floating) else str(int(v))
    return str(v)


def _whole_periods(frame: pd.DataFrame, time: str, source: str) -> pd.DataFrame:
    """Numeric time column holding whole periods (years), returned as int."""
    frame = _numeric(frame, [time], source)
    nonint = np.flatnonzero((frame[time] % 1 != 0).to_numpy())
    if nonint.size:
        raise DataError(
            f"time must be whole periods such as years (found {frame[time].iloc[nonint[0]]:g})",
            file=source,
            column=time,
            rows=sheet_rows(nonint),
            hint="Use integer periods (for quarters or months, number them 1, 2, 3 ...).",
        )
    frame[time] = frame[time].astype(int)
    return frame
