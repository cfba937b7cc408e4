"""Outcome construction for the export-ratio regression (paper 001; methods.md sections 2.1, 2.4).

* Export ratio: average growth g over the base years (CAGR ``(E_last / E_first)^(1/(T-1)) - 1``,
  the default, or the arithmetic mean of the yearly growth rates), forecast
  ``E_target_hat = E_last_base * (1 + g)``, ratio ``R = E_target / E_target_hat``; the regression
  takes ``ln R`` (``validate_cross_section(log=True)`` logs it).
* Growth rate: ``E_target / E_previous - 1`` (robustness 1; a semi-elasticity outcome, never logged).
* Months to recovery from monthly exports (robustness 2): the expected value of a shock-period
  month is the same calendar month of the last base year times ``(1 + g)`` (g = CAGR of the yearly
  sums); start = first month of the shock year with ratio < 1; end = first month of the first run of
  ``k`` consecutive months with ratio > 1 after the start; months = end - start. Cities without
  such a run are right-censored; they were observed at risk for ``at_risk`` months, the last month
  whose run of ``k`` could still complete inside the window (``L - k - start``).

Numpy kernels on bare arrays first, labelled pandas wrappers after them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayesres.errors import DataError, SpecError

__all__ = [
    "GROWTH_METHODS",
    "average_growth",
    "forecast_exports",
    "export_ratio",
    "growth_rate",
    "export_years",
    "recovery_kernel",
    "months_to_recovery",
]

GROWTH_METHODS = ("cagr", "mean")
RECOVERY_RUN = 3


# --------------------------------------------------------------------------- kernels


def average_growth(yearly: np.ndarray, *, method: str = "cagr") -> np.ndarray:
    """Average yearly growth per row of ``yearly`` (rows x consecutive years)."""
    e = np.atleast_2d(np.asarray(yearly, dtype=float))
    if e.shape[1] < 2:
        raise SpecError("average growth needs at least two base years")
    if method == "cagr":
        return (e[:, -1] / e[:, 0]) ** (1.0 / (e.shape[1] - 1)) - 1.0
    if method == "mean":
        return (e[:, 1:] / e[:, :-1] - 1.0).mean(axis=1)
    raise SpecError(f"unknown growth method {method!r}", hint="Use cagr or mean.")


def forecast_exports(yearly: np.ndarray, *, method: str = "cagr") -> np.ndarray:
    """No-shock forecast of the year after the base years: last base year x (1 + g)."""
    e = np.atleast_2d(np.asarray(yearly, dtype=float))
    return e[:, -1] * (1.0 + average_growth(e, method=method))


def recovery_kernel(
    ratio: np.ndarray, shock: np.ndarray, *, k: int = RECOVERY_RUN
) -> tuple[int, int, bool]:
    """(start, end, censored) indices for one city's monthly ratio series.

    ``shock`` marks months where the start may fall (the shock year). start = -1 when the ratio
    never drops below 1 there; end = -1 when no run of ``k`` months with ratio > 1 follows.
    """
    r = np.asarray(ratio, dtype=float)
    below = np.flatnonzero((r < 1.0) & np.asarray(shock, dtype=bool))
    if not below.size:
        return -1, -1, False
    start = int(below[0])
    above = r > 1.0
    for j in range(start + 1, len(r) - k + 1):
        if above[j : j + k].all():
            return start, j, False
    return start, -1, True


# --------------------------------------------------------------------------- labelled wrappers


def export_years(frame: pd.DataFrame, prefix: str) -> dict[int, str]:
    """{year: column} for columns named ``<prefix><year>``."""
    pat = re.compile(rf"^{re.escape(prefix)}(\d{{4}})$")
    out = {int(m.group(1)): c for c in frame.columns if (m := pat.match(str(c)))}
    if len(out) < 3:
        raise DataError(
            f"found {len(out)} yearly export columns named {prefix}<year>; need at least 3",
            column=f"{prefix}<year>",
            hint="Pass --exports-prefix matching columns such as exports_2015 … exports_2020.",
        )
    return dict(sorted(out.items()))


def _base_target(
    years: dict[int, str], base_years: Sequence[int] | None, target: int | None
) -> tuple[list[int], int]:
    tgt = target if target is not None else max(years)
    base = list(base_years) if base_years is not None else [y for y in years if y < tgt]
    missing = [y for y in [*base, tgt] if y not in years]
    if missing:
        raise DataError(
            f"no export column for year {missing[0]}", hint="Check the years and the prefix."
        )
    return base, tgt


def export_ratio(
    frame: pd.DataFrame,
    *,
    prefix: str = "exports_",
    base_years: Sequence[int] | None = None,
    target: int | None = None,
    growth: str = "cagr",
) -> pd.Series:
    """Actual / forecast exports of the ``target`` year (default: the last year, base = the rest)."""
    years = export_years(frame, prefix)
    base, tgt = _base_target(years, base_years, target)
    e = frame[[years[y] for y in base]].to_numpy(dtype=float)
    ratio = frame[years[tgt]].to_numpy(dtype=float) / forecast_exports(e, method=growth)
    return pd.Series(ratio, index=frame.index, name="export_ratio")


def growth_rate(
    frame: pd.DataFrame, *, prefix: str = "exports_", target: int | None = None
) -> pd.Series:
    """Export growth of the target year over the previous year: E_t / E_{t-1} - 1."""
    years = export_years(frame, prefix)
    tgt = target if target is not None else max(years)
    if tgt - 1 not in years:
        raise DataError(f"no export column for year {tgt - 1}", hint="Check the prefix.")
    out = frame[years[tgt]].to_numpy(float) / frame[years[tgt - 1]].to_numpy(float) - 1.0
    return pd.Series(out, index=frame.index, name="export_growth")


def months_to_recovery(
    monthly: pd.DataFrame,
    *,
    k: int = RECOVERY_RUN,
    unit: str = "city",
    time: str = "month",
    value: str = "exports",
    base_years: Sequence[int] = (2015, 2016, 2017, 2018, 2019),
    shock_year: int = 2020,
) -> pd.DataFrame:
    """Months to recovery per unit from a long monthly table (time as 'YYYY-MM').

    Returns unit, start, end (months as 'YYYY-MM'), months (NaN when censored), censored,
    at_risk (months observed at risk: the event time, or ``L - k - start`` when censored).
    """
    if k < 1:
        raise SpecError("k (consecutive months above 1) must be >= 1")
    for col in (unit, time, value):
        if col not in monthly.columns:
            raise DataError("column not found in the monthly table", column=col)
    m = monthly[[unit, time, value]].copy()
    stamp = m[time].astype(str)
    m["_year"] = stamp.str.slice(0, 4).astype(int)
    m["_mon"] = stamp.str.slice(5, 7).astype(int)
    base = list(base_years)
    rows = []
    for name, g in m.groupby(unit, sort=False):
        yearly = g.groupby("_year")[value].sum()
        if any(y not in yearly.index for y in base):
            raise DataError(f"unit {name!r} lacks monthly data for a base year", column=time)
        gr = average_growth(yearly.loc[base].to_numpy()[None, :], method="cagr")[0]
        ref = g[g["_year"] == base[-1]].set_index("_mon")[value]
        post = g[g["_year"] >= shock_year].sort_values(time)
        ratio = post[value].to_numpy(float) / (ref.loc[post["_mon"]].to_numpy() * (1.0 + gr))
        stamps = post[time].astype(str).tolist()
        start, end, censored = recovery_kernel(ratio, post["_year"].to_numpy() == shock_year, k=k)
        at_risk = (end - start) if end >= 0 else (len(ratio) - k - start if start >= 0 else 0)
        rows.append(
            {
                unit: name,
                "start": stamps[start] if start >= 0 else "",
                "end": stamps[end] if end >= 0 else "",
                "months": float(end - start) if end >= 0 else np.nan,
                "censored": bool(censored),
                "at_risk": int(at_risk),
            }
        )
    return pd.DataFrame(rows)
