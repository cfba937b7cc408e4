"""One exception base, a few subclasses, and warning classes users can filter.

Every message says what was found, where (file, column, rows) and what to do, on one line.
The CLI maps ``exit_code`` to the process exit status (CONTRACT.md): 2 bad input or usage,
3 failed diagnostic gates under ``--strict``, 1 anything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "BayesresError",
    "DataError",
    "SpecError",
    "MissingDependencyError",
    "DiagnosticsFailedError",
    "BayesresWarning",
    "DataWarning",
    "ConvergenceWarning",
    "UnverifiedFactsWarning",
    "format_rows",
]

MAX_ROWS_SHOWN = 8


def format_rows(rows: Iterable[int] | None) -> str:
    """Render 1-based data row numbers compactly: ``rows 3, 7, 9 (+12 more)``."""
    if rows is None:
        return ""
    rows = sorted({int(r) for r in rows})
    if not rows:
        return ""
    shown = ", ".join(str(r) for r in rows[:MAX_ROWS_SHOWN])
    more = f" (+{len(rows) - MAX_ROWS_SHOWN} more)" if len(rows) > MAX_ROWS_SHOWN else ""
    word = "row" if len(rows) == 1 else "rows"
    return f"{word} {shown}{more}"


class BayesresError(Exception):
    """Base of every error bayesres raises on purpose."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | Sequence[str] | None = None,
        rows: Iterable[int] | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.column = column
        self.rows = sorted({int(r) for r in rows}) if rows is not None else None
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.column is not None:
            cols = [self.column] if isinstance(self.column, str) else list(self.column)
            label = "column" if len(cols) == 1 else "columns"
            where.append(f"{label} {', '.join(repr(c) for c in cols)}")
        rows = format_rows(self.rows)
        if rows:
            where.append(rows)
        text = ": ".join([", ".join(where), self.message]) if where else self.message
        if self.hint:
            text = f"{text.rstrip('.')}. {self.hint}"
        return " ".join(text.split())  # always a single line


class DataError(BayesresError):
    """The input data cannot be analysed as given (bad file, column, values or design)."""

    exit_code = 2


class SpecError(BayesresError):
    """A model spec, option or argument is invalid."""

    exit_code = 2


class MissingDependencyError(BayesresError):
    """An optional backend is not installed; the message names the extra to install."""

    exit_code = 2


class DiagnosticsFailedError(BayesresError):
    """The fit ran but failed its diagnostic gates and ``strict`` was requested."""

    exit_code = 3


class BayesresWarning(UserWarning):
    """Base of bayesres warnings."""


class DataWarning(BayesresWarning):
    """Data are usable but weak (for example a tier with fewer than 5 units)."""


class ConvergenceWarning(BayesresWarning):
    """A fit failed one or more diagnostic gates."""


class UnverifiedFactsWarning(BayesresWarning):
    """An analysis groups units by a facts list whose rows are not all verified."""
