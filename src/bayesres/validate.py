"""Validate user tables once, at the boundary, into frozen data objects the internals trust.

Pandera checks columns, types and missing values; the design checks pandera cannot express live
here too (treatment absorbing, cohort constant within a unit, duplicate unit-time rows, balance,
positive values before logs, tier labels known, tier sizes). Every failure is a one-line
``DataError`` naming the file, the column and the rows, and saying what to do.

Rows are numbered as in a spreadsheet: the header is row 1, the first data row is row 2.
Inputs are never modified: every object holds its own validated copy.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayesres.config import TIER_MIN_UNITS, TIER_WARN_UNITS
from bayesres.errors import DataError, DataWarning, SpecError

__all__ = [
    "CrossSection",
    "IndicatorSpec",
    "IndicatorTable",
    "Panel",
    "validate_cross_section",
    "validate_indicators",
    "validate_panel",
    "read_indicator_spec",
    "sheet_rows",
]

HEADER_ROWS = 1


def sheet_rows(index: Iterable[int]) -> list[int]:
    """Positional (0-based) data-row indices → spreadsheet row numbers (header is row 1)."""
    return [int(i) + 1 + HEADER_ROWS for i in index]


# --------------------------------------------------------------------------- column checks


def _require_columns(df: pd.DataFrame, columns: Sequence[str], source: str, what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        avail = ", ".join(map(str, list(df.columns)[:12]))
        more = " …" if df.shape[1] > 12 else ""
        raise DataError(
            f"{what} column not found (available: {avail}{more})",
            file=source,
            column=missing[0] if len(missing) == 1 else missing,
            hint="Pass the right column name with the matching option or rename the column.",
        )


def _numeric(
    df: pd.DataFrame, columns: Sequence[str], source: str, *, positive: bool = False
) -> pd.DataFrame:
    """Coerce ``columns`` to float through a pandera schema; raise on text, missing or <= 0."""
    import pandera.pandas as pa

    out = df.copy()
    for col in columns:  # one column at a time so the first failing column is named alone
        raw = out[col]
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
    pa.DataFrameSchema(checks).validate(out[list(columns)])
    if positive:
        for col in columns:
            nonpos = np.flatnonzero(out[col].to_numpy() <= 0)
            if nonpos.size:
                raise DataError(
                    "zero or negative values cannot be logged",
                    file=source,
                    column=col,
                    rows=sheet_rows(nonpos),
                    hint="Drop --log, or fix or remove those rows.",
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
                hint="Correct the labels or declare the tier in the model spec.",
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


# --------------------------------------------------------------------------- cross-section


@dataclass(frozen=True)
class CrossSection:
    """A validated cross-section (one row per unit)."""

    frame: pd.DataFrame
    source: str
    outcome: str
    predictor: str
    controls: tuple[str, ...] = ()
    unit: str | None = None
    tier: str | None = None
    tiers: tuple[str, ...] = ()
    log: bool = False

    @property
    def n(self) -> int:
        return len(self.frame)

    def column(self, name: str) -> np.ndarray:
        v = self.frame[name].to_numpy(dtype=float)
        return np.log(v) if self.log else v

    @property
    def y(self) -> np.ndarray:
        return self.column(self.outcome)

    @property
    def x(self) -> np.ndarray:
        return self.column(self.predictor)

    @property
    def z(self) -> np.ndarray:
        """Controls as an (n, p) array (logged with ``log``)."""
        if not self.controls:
            return np.zeros((self.n, 0))
        return np.column_stack([self.column(c) for c in self.controls])

    @property
    def tier_codes(self) -> np.ndarray:
        if self.tier is None:
            return np.zeros(self.n, dtype=int)
        lookup = {t: i for i, t in enumerate(self.tiers)}
        return self.frame[self.tier].map(lookup).to_numpy(dtype=int)

    @property
    def units(self) -> list[str]:
        if self.unit is None:
            return [str(i + 1) for i in range(self.n)]
        return self.frame[self.unit].astype(str).tolist()


def validate_cross_section(
    df: pd.DataFrame,
    *,
    source: str,
    outcome: str | None,
    predictor: str | None,
    controls: Sequence[str] = (),
    unit: str | None = None,
    tier: str | None = None,
    tiers: Sequence[str] | None = None,
    log: bool = False,
    reference_tier: str | None = None,
    extra_numeric: Sequence[str] = (),
) -> CrossSection:
    """Validate a one-row-per-unit table for the regression analyses.

    ``outcome`` / ``predictor`` may be None for a design-only check (``bayesres data check``);
    ``extra_numeric`` columns (e.g. yearly exports) are checked as numeric and, with ``log``, positive.
    """
    controls = tuple(controls)
    numeric = [c for c in (outcome, predictor, *controls, *extra_numeric) if c]
    _require_columns(df, numeric, source, "numeric")
    _require_columns(df, [c for c in (unit, tier) if c], source, "label")
    frame = df.reset_index(drop=True).copy()
    if unit:
        labels = _text_column(frame, unit, source, "unit")
        dup = np.flatnonzero(labels.duplicated(keep=False).to_numpy())
        if dup.size:
            raise DataError(
                f"duplicated unit {labels.iloc[dup[0]]!r}: a cross-section needs one row per unit",
                file=source,
                column=unit,
                rows=sheet_rows(dup),
                hint="Remove the duplicates or aggregate them first.",
            )
        frame[unit] = labels
    frame = _numeric(frame, numeric, source, positive=log)
    levels: tuple[str, ...] = ()
    if tier:
        labels = _text_column(frame, tier, source, "tier")
        frame[tier] = labels
        levels = _check_tiers(
            labels, source=source, column=tier, rows_of_tier=_rows_by_label(labels), known=tiers
        )
        if reference_tier is not None and reference_tier not in levels:
            raise SpecError(
                f"reference tier {reference_tier!r} is not among the tiers ({', '.join(levels)})",
                file=source,
                column=tier,
                hint="Pass one of the listed labels to --reference-tier.",
            )
        if reference_tier is not None:  # the reference goes last, like "other" in paper 001
            levels = tuple([t for t in levels if t != reference_tier] + [reference_tier])
    if len(frame) <= len(numeric) + 1:
        raise DataError(
            f"only {len(frame)} rows for {len(numeric)} variables",
            file=source,
            hint="A regression needs more rows than coefficients.",
        )
    return CrossSection(
        frame=frame,
        source=source,
        outcome=outcome or "",
        predictor=predictor or "",
        controls=controls,
        unit=unit,
        tier=tier,
        tiers=levels,
        log=log,
    )


# --------------------------------------------------------------------------- indicators


@dataclass(frozen=True)
class IndicatorSpec:
    """Indicators with their dimension and direction (+1 positive, -1 negative)."""

    indicators: tuple[str, ...]
    dimensions: tuple[str, ...]
    directions: tuple[int, ...]
    labels: tuple[str, ...] = ()

    @property
    def dimension_levels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.dimensions))

    @property
    def dimension_index(self) -> np.ndarray:
        lookup = {d: i for i, d in enumerate(self.dimension_levels)}
        return np.array([lookup[d] for d in self.dimensions], dtype=int)

    @classmethod
    def from_frame(cls, spec: pd.DataFrame, *, source: str = "indicator spec") -> IndicatorSpec:
        _require_columns(spec, ["indicator", "dimension", "direction"], source, "spec")
        spec = spec.reset_index(drop=True)
        for col in ("indicator", "dimension", "direction"):
            _text_column(spec, col, source, col)
        direction = spec["direction"].astype(str).str.strip().str.lower()
        bad = np.flatnonzero(
            ~direction.isin(["positive", "negative", "+", "-", "1", "-1"]).to_numpy()
        )
        if bad.size:
            raise DataError(
                f"direction must be 'positive' or 'negative' (found {direction.iloc[bad[0]]!r})",
                file=source,
                column="direction",
                rows=sheet_rows(bad),
                hint="Use positive for more-is-better indicators and negative otherwise.",
            )
        names = spec["indicator"].astype(str).str.strip()
        dup = np.flatnonzero(names.duplicated(keep=False).to_numpy())
        if dup.size:
            raise DataError(
                f"indicator {names.iloc[dup[0]]!r} listed twice",
                file=source,
                column="indicator",
                rows=sheet_rows(dup),
                hint="List each indicator once.",
            )
        dirs = tuple(-1 if d in ("negative", "-", "-1") else 1 for d in direction)
        labels = tuple(spec["label"].astype(str)) if "label" in spec.columns else tuple(names)
        return cls(tuple(names), tuple(spec["dimension"].astype(str).str.strip()), dirs, labels)


def read_indicator_spec(path: str | Path) -> IndicatorSpec:
    """Read an indicator spec from CSV/XLSX/Parquet or TOML (``[[indicator]]`` tables or a mapping)."""
    p = Path(path)
    if p.suffix.lower() == ".toml":
        import tomllib

        if not p.exists():
            raise DataError("file not found", file=str(path), hint="Check the --indicators path.")
        try:
            doc = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(
                f"invalid TOML ({exc})", file=str(path), hint="Fix the TOML syntax."
            ) from None
        rows = doc.get("indicator") or doc.get("indicators")
        if isinstance(rows, dict):  # {name = {dimension=..., direction=...}}
            rows = [{"indicator": k, **v} for k, v in rows.items()]
        if not isinstance(rows, list) or not rows:
            raise SpecError(
                "no [[indicator]] entries",
                file=str(path),
                hint="Add [[indicator]] tables with indicator, dimension and direction keys.",
            )
        return IndicatorSpec.from_frame(pd.DataFrame(rows), source=str(path))
    from bayesres.io import read_table

    return IndicatorSpec.from_frame(read_table(p), source=str(path))


@dataclass(frozen=True)
class IndicatorTable:
    """Validated indicator values: rows are units (or unit-years when ``time`` is set)."""

    frame: pd.DataFrame
    source: str
    spec: IndicatorSpec
    unit: str
    time: str | None = None
    tier: str | None = None
    tiers: tuple[str, ...] = ()

    @property
    def values(self) -> np.ndarray:
        return self.frame[list(self.spec.indicators)].to_numpy(dtype=float)

    @property
    def unit_codes(self) -> tuple[np.ndarray, list[str]]:
        codes, uniques = pd.factorize(self.frame[self.unit], sort=False)
        return codes, [str(u) for u in uniques]


def validate_indicators(
    df: pd.DataFrame,
    *,
    source: str,
    spec: IndicatorSpec,
    unit: str,
    time: str | None = None,
    tier: str | None = None,
    tiers: Sequence[str] | None = None,
) -> IndicatorTable:
    """Validate an indicator table for the entropy / Bayesian index analyses."""
    _require_columns(df, list(spec.indicators), source, "indicator")
    _require_columns(df, [c for c in (unit, time, tier) if c], source, "label")
    frame = df.reset_index(drop=True).copy()
    frame[unit] = _text_column(frame, unit, source, "unit")
    keys = [unit] + ([time] if time else [])
    if time:
        frame = _numeric(frame, [time], source)
    dup = np.flatnonzero(frame.duplicated(subset=keys, keep=False).to_numpy())
    if dup.size:
        what = "unit-time" if time else "unit"
        raise DataError(
            f"duplicated {what} rows",
            file=source,
            column=keys if time else unit,
            rows=sheet_rows(dup),
            hint="Keep one row per unit" + (" and time" if time else "") + ".",
        )
    frame = _numeric(frame, list(spec.indicators), source)
    for col in spec.indicators:
        if frame[col].nunique() < 2:
            raise DataError(
                "constant indicator: its entropy weight is undefined (max = min)",
                file=source,
                column=col,
                rows=sheet_rows(range(len(frame))),
                hint="Drop the indicator from the spec; it cannot discriminate between units.",
            )
    levels: tuple[str, ...] = ()
    if tier:
        labels = _text_column(frame, tier, source, "tier")
        frame[tier] = labels
        per_unit = frame.groupby(unit, sort=False)[tier].nunique()
        if (per_unit > 1).any():
            u = per_unit.index[per_unit > 1][0]
            rows = np.flatnonzero((frame[unit] == u).to_numpy())
            raise DataError(
                f"unit {u!r} has more than one tier",
                file=source,
                column=tier,
                rows=sheet_rows(rows),
                hint="A unit belongs to one tier; fix the labels.",
            )
        first = frame.drop_duplicates(unit)
        levels = _check_tiers(
            first[tier],
            source=source,
            column=tier,
            rows_of_tier=_rows_by_label(labels),
            known=tiers,
        )
    n_units = frame[unit].nunique()
    if n_units < 3:
        raise DataError(
            f"only {n_units} units",
            file=source,
            column=unit,
            hint="The entropy method needs at least 3 units.",
        )
    return IndicatorTable(
        frame=frame, source=source, spec=spec, unit=unit, time=time, tier=tier, tiers=levels
    )


# --------------------------------------------------------------------------- staggered panel


@dataclass(frozen=True)
class Panel:
    """A validated staggered-adoption panel. ``cohort`` 0 means never treated."""

    frame: pd.DataFrame
    source: str
    unit: str
    time: str
    cohort: str
    outcome: str | None = None
    tier: str | None = None
    tiers: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()
    balanced: bool = True
    periods: tuple[int, ...] = ()
    cohorts: tuple[int, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def treated(self) -> np.ndarray:
        g = self.frame[self.cohort].to_numpy()
        t = self.frame[self.time].to_numpy()
        return ((g > 0) & (t >= g)).astype(int)

    def summary(self) -> dict:
        units = self.frame.drop_duplicates(self.unit)
        out = {
            "rows": len(self.frame),
            "units": int(units.shape[0]),
            "periods": [int(self.periods[0]), int(self.periods[-1])] if self.periods else [],
            "balanced": self.balanced,
            "cohorts": {
                int(k): int(v) for k, v in units[self.cohort].value_counts().sort_index().items()
            },
        }
        if self.tier:
            out["tiers"] = {str(k): int(v) for k, v in units[self.tier].value_counts().items()}
        return out


def validate_panel(
    df: pd.DataFrame,
    *,
    source: str,
    unit: str,
    time: str,
    cohort: str,
    outcome: str | None = None,
    tier: str | None = None,
    tiers: Sequence[str] | None = None,
    controls: Sequence[str] = (),
    treat: str | None = None,
) -> Panel:
    """Validate a staggered panel: unit, time, first-treated cohort (0 / empty = never)."""
    controls = tuple(controls)
    numeric = [c for c in (outcome, *controls) if c]
    _require_columns(df, [unit, time, cohort], source, "design")
    _require_columns(df, numeric, source, "numeric")
    _require_columns(df, [c for c in (tier, treat) if c], source, "label")
    frame = df.reset_index(drop=True).copy()
    frame[unit] = _text_column(frame, unit, source, "unit")
    frame = _numeric(frame, [time], source)
    nonint = np.flatnonzero((frame[time] % 1 != 0).to_numpy())
    if nonint.size:
        raise DataError(
            "time must be whole periods (e.g. years)",
            file=source,
            column=time,
            rows=sheet_rows(nonint),
            hint="Use integer periods.",
        )
    frame[time] = frame[time].astype(int)
    coh = frame[cohort]
    coh = coh.where(~(coh.astype(str).str.strip() == ""), other=np.nan)
    frame[cohort] = coh.fillna(0)
    frame = _numeric(frame, [cohort], source)
    frame[cohort] = frame[cohort].astype(int)
    dup = np.flatnonzero(frame.duplicated(subset=[unit, time], keep=False).to_numpy())
    if dup.size:
        raise DataError(
            "duplicated unit-time rows",
            file=source,
            column=[unit, time],
            rows=sheet_rows(dup),
            hint="Keep one row per unit and period.",
        )
    varying = frame.groupby(unit, sort=False)[cohort].nunique()
    if (varying > 1).any():
        u = varying.index[varying > 1][0]
        rows = np.flatnonzero((frame[unit] == u).to_numpy())
        raise DataError(
            f"cohort (first treated period) differs within unit {u!r}",
            file=source,
            column=cohort,
            rows=sheet_rows(rows),
            hint="The cohort is a unit attribute: give every row of a unit the same value.",
        )
    periods = sorted(frame[time].unique().tolist())
    g = frame[cohort].to_numpy()
    early = np.flatnonzero((g > 0) & (g <= periods[0]))
    if early.size:
        raise DataError(
            f"units treated in or before the first period ({periods[0]}) have no pre-period",
            file=source,
            column=cohort,
            rows=sheet_rows(early),
            hint="Drop always-treated units or extend the panel backwards.",
        )
    if treat:
        frame = _numeric(frame, [treat], source)
        d = frame[treat].to_numpy()
        notbin = np.flatnonzero(~np.isin(d, (0, 1)))
        if notbin.size:
            raise DataError(
                "treatment must be 0/1",
                file=source,
                column=treat,
                rows=sheet_rows(notbin),
                hint="Code treatment as 0 or 1.",
            )
        order = frame.sort_values([unit, time])
        prev = order.groupby(unit, sort=False)[treat].shift(1)
        off = order.index[(prev == 1) & (order[treat] == 0)].to_numpy()
        if off.size:
            raise DataError(
                "treatment switches off (1 then 0): staggered adoption must be absorbing",
                file=source,
                column=treat,
                rows=sheet_rows(off),
                hint="Treatment must stay 1 once it starts; check those rows or use a design that allows exit.",
            )
        implied = ((g > 0) & (frame[time].to_numpy() >= g)).astype(int)
        clash = np.flatnonzero(implied != d)
        if clash.size:
            raise DataError(
                f"treatment disagrees with the cohort column {cohort!r}",
                file=source,
                column=[treat, cohort],
                rows=sheet_rows(clash),
                hint="Treatment must be 1 exactly from the cohort's first treated period on.",
            )
    frame = _numeric(frame, numeric, source)
    levels: tuple[str, ...] = ()
    if tier:
        labels = _text_column(frame, tier, source, "tier")
        frame[tier] = labels
        per_unit = frame.groupby(unit, sort=False)[tier].nunique()
        if (per_unit > 1).any():
            u = per_unit.index[per_unit > 1][0]
            rows = np.flatnonzero((frame[unit] == u).to_numpy())
            raise DataError(
                f"unit {u!r} has more than one tier",
                file=source,
                column=tier,
                rows=sheet_rows(rows),
                hint="A unit belongs to one tier; fix the labels.",
            )
        first = frame.drop_duplicates(unit)
        levels = _check_tiers(
            first[tier],
            source=source,
            column=tier,
            rows_of_tier=_rows_by_label(labels),
            known=tiers,
        )
    counts = frame.groupby(unit, sort=False)[time].nunique()
    balanced = bool((counts == len(periods)).all())
    cohorts = tuple(sorted(int(c) for c in frame[cohort].unique() if c > 0))
    if not cohorts:
        raise DataError(
            "no treated units (every cohort is 0 / empty)",
            file=source,
            column=cohort,
            hint="Set the first treated period for treated units.",
        )
    if not (frame[cohort] == 0).any() and len(cohorts) < 2:
        raise DataError(
            "no comparison units: one cohort and no never-treated units",
            file=source,
            column=cohort,
            hint="Add never-treated units (cohort 0 / empty).",
        )
    return Panel(
        frame=frame,
        source=source,
        unit=unit,
        time=time,
        cohort=cohort,
        outcome=outcome,
        tier=tier,
        tiers=levels,
        controls=controls,
        balanced=balanced,
        periods=tuple(int(p) for p in periods),
        cohorts=cohorts,
    )
