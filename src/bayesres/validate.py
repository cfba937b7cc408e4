"""Validate user tables once, at the boundary, into frozen data objects the internals trust.

Pandera checks columns, types and missing values; the design checks pandera cannot express live
here too (treatment absorbing, cohort constant within a unit, duplicate unit-time rows, balance,
positive values before logs, tier labels known, tier sizes). Every failure is a one-line
``DataError`` naming the file, the column and the rows, and saying what to do.

Rows are numbered as in a spreadsheet: the header is row 1, the first data row is row 2.
Inputs are never modified: every object holds its own validated copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayesres._checks import (
    HEADER_ROWS,
    _check_tiers,
    _dup_keys,
    _numeric,
    _require_columns,
    _rows_by_label,
    _text_column,
    _unit_tiers,
    _whole_periods,
    sheet_rows,
)
from bayesres.errors import DataError, SpecError

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
    log_outcome: bool | None = None  # None: same as ``log``

    @property
    def n(self) -> int:
        return len(self.frame)

    def column(self, name: str) -> np.ndarray:
        v = self.frame[name].to_numpy(dtype=float)
        return np.log(v) if self.log else v

    @property
    def outcome_logged(self) -> bool:
        return self.log if self.log_outcome is None else self.log_outcome

    @property
    def y(self) -> np.ndarray:
        v = self.frame[self.outcome].to_numpy(dtype=float)
        return np.log(v) if self.outcome_logged else v

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

    def summary(self) -> dict:
        """Rows, units and tier sizes (in units, ordered as ``tiers``)."""
        out: dict = {"rows": self.n, "units": self.n}
        if self.tier:
            sizes = self.frame[self.tier].value_counts()
            out["tiers"] = {str(t): int(sizes[t]) for t in self.tiers}
        return out


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
    extra_positive: bool | None = None,
    log_outcome: bool | None = None,
) -> CrossSection:
    """Validate a one-row-per-unit table for the regression analyses.

    ``log`` takes logs of the predictor and controls, and of the outcome unless ``log_outcome``
    says otherwise (False for outcomes that are rates or counts: growth, months to recovery).

    ``outcome`` / ``predictor`` may be None for a design-only check (``bayesres data check``);
    ``extra_numeric`` columns (e.g. yearly exports) are checked as numeric and positive when
    ``extra_positive`` is true (None: same as ``log``), since an export ratio takes their logs.
    """
    controls = tuple(controls)
    model_cols = [c for c in (outcome, predictor, *controls) if c]
    extra = [c for c in extra_numeric if c and c not in model_cols]
    numeric = model_cols + extra
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
    logged = [c for c in (predictor, *controls) if c] if log else []
    if outcome and (log if log_outcome is None else log_outcome):
        logged.insert(0, outcome)
    frame = _numeric(frame, model_cols, source)
    if logged:
        frame = _numeric(frame, logged, source, positive=True)
    if extra:
        pos = log if extra_positive is None else extra_positive
        frame = _numeric(
            frame,
            extra,
            source,
            positive=pos,
            positive_hint="Export columns enter a log ratio; fix or remove those rows.",
        )
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
    k = 1 + len(controls) + (1 if predictor else 0)  # intercept, predictor, controls
    if predictor and len(frame) <= k:
        raise DataError(
            f"only {len(frame)} rows for {k} coefficients (intercept included)",
            file=source,
            column=[c for c in (predictor, *controls) if c],
            rows=sheet_rows(range(len(frame))),
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
        log_outcome=log_outcome,
    )


# --------------------------------------------------------------------------- indicators


@dataclass(frozen=True)
class IndicatorSpec:
    """Indicators with their dimension and direction (+1 positive, -1 negative).

    ``source`` and ``origins`` (where each indicator is declared, e.g. ``row 4`` of a CSV spec or
    ``[[indicator]] entry 3`` of a TOML spec) only serve error messages; they do not take part in
    equality.
    """

    indicators: tuple[str, ...]
    dimensions: tuple[str, ...]
    directions: tuple[int, ...]
    labels: tuple[str, ...] = ()
    source: str = field(default="", compare=False)
    origins: tuple[str, ...] = field(default=(), compare=False)

    @property
    def dimension_levels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.dimensions))

    @property
    def dimension_index(self) -> np.ndarray:
        lookup = {d: i for i, d in enumerate(self.dimension_levels)}
        return np.array([lookup[d] for d in self.dimensions], dtype=int)

    def origin(self, indicator: str) -> str:
        """Where ``indicator`` is declared, for messages (``spec.csv row 4``); '' if unknown."""
        if indicator not in self.indicators or not self.origins:
            return self.source
        where = self.origins[self.indicators.index(indicator)]
        return f"{self.source} {where}".strip()

    @classmethod
    def from_frame(
        cls, spec: pd.DataFrame, *, source: str = "indicator spec", entries: bool = False
    ) -> IndicatorSpec:
        """Build a spec from a table with columns indicator, dimension, direction (label optional).

        ``entries`` numbers the rows as TOML ``[[indicator]]`` entries (1, 2, ...) instead of
        spreadsheet rows (header row 1, first entry row 2).
        """
        _require_columns(spec, ["indicator", "dimension", "direction"], source, "spec")
        spec = spec.reset_index(drop=True)

        def fail(message: str, column: str, pos: np.ndarray, hint: str) -> DataError:
            if entries:
                nums = ", ".join(str(int(i) + 1) for i in pos[:8])
                return DataError(
                    f"{message} in [[indicator]] entry {nums}",
                    file=source,
                    column=column,
                    hint=hint,
                )
            return DataError(message, file=source, column=column, rows=sheet_rows(pos), hint=hint)

        for col in ("indicator", "dimension", "direction"):
            s = spec[col]
            empty = np.flatnonzero((s.isna() | (s.astype(str).str.strip() == "")).to_numpy())
            if empty.size:
                raise fail(f"empty {col}", col, empty, f"Give every indicator a {col}.")
        direction = spec["direction"].astype(str).str.strip().str.lower()
        direction = direction.replace({"1.0": "1", "-1.0": "-1"})
        bad = np.flatnonzero(
            ~direction.isin(["positive", "negative", "+", "-", "1", "-1"]).to_numpy()
        )
        if bad.size:
            raise fail(
                f"direction must be 'positive' or 'negative' (found {direction.iloc[bad[0]]!r})",
                "direction",
                bad,
                "Use positive for more-is-better indicators and negative otherwise.",
            )
        names = spec["indicator"].astype(str).str.strip()
        dup = np.flatnonzero(names.duplicated(keep=False).to_numpy())
        if dup.size:
            raise fail(
                f"indicator {names.iloc[dup[0]]!r} listed twice",
                "indicator",
                dup,
                "List each indicator once.",
            )
        dirs = tuple(-1 if d in ("negative", "-", "-1") else 1 for d in direction)
        if "label" in spec.columns:
            lab = spec["label"]
            labels = tuple(
                str(v).strip() if pd.notna(v) and str(v).strip() else n
                for v, n in zip(lab, names, strict=True)
            )
        else:
            labels = tuple(names)
        n = len(spec)
        origins = tuple(
            f"[[indicator]] entry {i + 1}" if entries else f"row {i + 1 + HEADER_ROWS}"
            for i in range(n)
        )
        return cls(
            tuple(names),
            tuple(spec["dimension"].astype(str).str.strip()),
            dirs,
            labels,
            source=source,
            origins=origins,
        )


def read_indicator_spec(path: str | Path) -> IndicatorSpec:
    """Read an indicator spec from CSV/XLSX/Parquet or TOML (``[[indicator]]`` tables or a mapping)."""
    p = Path(path)
    name = str(path)
    if p.suffix.lower() != ".toml":
        from bayesres.io import read_table

        return IndicatorSpec.from_frame(read_table(p), source=name)
    import tomllib

    if not p.exists() or p.is_dir():
        what = "is a directory, not a spec file" if p.exists() else "file not found"
        raise DataError(what, file=name, hint="Check the --indicators path.")
    try:
        doc = tomllib.loads(p.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SpecError(
            "is not UTF-8 encoded", file=name, hint="Re-save the spec as UTF-8."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(
            f"invalid TOML ({exc})", file=name, hint="Fix the TOML syntax at that line."
        ) from None
    rows = doc.get("indicator") or doc.get("indicators")
    if isinstance(rows, dict):  # {name = {dimension=..., direction=...}}
        bad = [k for k, v in rows.items() if not isinstance(v, dict)]
        if bad:
            raise SpecError(
                f"indicator {bad[0]!r} is not a table of keys",
                file=name,
                hint="Write [indicators.NAME] with dimension and direction keys.",
            )
        rows = [{"indicator": k, **v} for k, v in rows.items()]
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise SpecError(
            "no [[indicator]] entries",
            file=name,
            hint="Add [[indicator]] tables with indicator, dimension and direction keys.",
        )
    return IndicatorSpec.from_frame(pd.DataFrame(rows), source=name, entries=True)


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

    def summary(self) -> dict:
        """Rows, units, indicators and dimensions, periods and balance, tier sizes in units."""
        units = self.frame.drop_duplicates(self.unit)
        out: dict = {
            "rows": len(self.frame),
            "units": int(units.shape[0]),
            "indicators": len(self.spec.indicators),
            "dimensions": len(self.spec.dimension_levels),
        }
        if self.time:
            periods = sorted(int(t) for t in self.frame[self.time].unique())
            counts = self.frame.groupby(self.unit, sort=False)[self.time].nunique()
            out["periods"] = [periods[0], periods[-1]]
            out["balanced"] = bool((counts == len(periods)).all())
        if self.tier:
            sizes = units[self.tier].value_counts()
            out["tiers"] = {str(t): int(sizes[t]) for t in self.tiers}
        return out


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
    absent = [c for c in spec.indicators if c not in df.columns]
    if absent:
        avail = ", ".join(map(str, list(df.columns)[:12]))
        more = " ..." if df.shape[1] > 12 else ""
        where = spec.origin(absent[0])
        raise DataError(
            f"indicator column named in the spec{f' ({where})' if where else ''} not found "
            f"(available: {avail}{more})",
            file=source,
            column=absent[0] if len(absent) == 1 else absent,
            hint="Fix the indicator name in the spec or add the column to the data.",
        )
    _require_columns(df, [c for c in (unit, time, tier) if c], source, "label")
    frame = df.reset_index(drop=True).copy()
    frame[unit] = _text_column(frame, unit, source, "unit")
    keys = [unit] + ([time] if time else [])
    if time:
        frame = _whole_periods(frame, time, source)
    dup, key = _dup_keys(frame, keys)
    if dup.size:
        what = "unit-time" if time else "unit"
        raise DataError(
            f"duplicated {what} rows ({key})",
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
        levels = _unit_tiers(frame, unit=unit, tier=tier, source=source, known=tiers)
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
            sizes = units[self.tier].value_counts()
            order = self.tiers or tuple(sizes.index)
            out["tiers"] = {str(t): int(sizes[t]) for t in order}
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
    frame = _whole_periods(frame, time, source)
    raw = frame[cohort]
    blank = (raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
    frame[cohort] = raw.astype(object).where(~blank, 0)  # empty = never treated (0)
    frame = _numeric(frame, [cohort], source)
    g = frame[cohort].to_numpy()
    badg = np.flatnonzero((g % 1 != 0) | (g < 0))
    if badg.size:
        raise DataError(
            f"cohort must be the first treated period, 0 or empty (found {g[badg[0]]:g})",
            file=source,
            column=cohort,
            rows=sheet_rows(badg),
            hint="Give treated units their first treated period and never-treated units 0.",
        )
    frame[cohort] = frame[cohort].astype(int)
    dup, key = _dup_keys(frame, [unit, time])
    if dup.size:
        raise DataError(
            f"duplicated unit-time rows ({key})",
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
        levels = _unit_tiers(frame, unit=unit, tier=tier, source=source, known=tiers)
    counts = frame.groupby(unit, sort=False)[time].nunique()
    balanced = bool((counts == len(periods)).all())
    cohorts = tuple(sorted(int(c) for c in frame[cohort].unique() if c > 0))
    if not cohorts:
        raise DataError(
            "no treated units (every cohort is 0 / empty)",
            file=source,
            column=cohort,
            rows=sheet_rows(range(len(frame))),
            hint="Set the first treated period for treated units.",
        )
    if not (frame[cohort] == 0).any() and len(cohorts) < 2:
        raise DataError(
            f"no comparison units: every unit is in cohort {cohorts[0]} and none is never treated",
            file=source,
            column=cohort,
            rows=sheet_rows(range(len(frame))),
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
