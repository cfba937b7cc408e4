"""Tidy estimates tables: one schema for both twins.

Columns (``TIDY_COLUMNS``): quantity (the results.json name, e.g. ``slope[first]``), term, group,
estimate, std_error, lower, upper, interval (``hdi`` / ``ci``), level, method, p_value (frequentist),
p_positive (Bayesian), plus r_hat / ess_bulk / ess_tail for MCMC draws.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from bayesres.config import HDI_PROB

__all__ = [
    "TIDY_COLUMNS",
    "split_name",
    "summarise_draws",
    "frequentist_row",
    "tidy_frame",
    "draws_2d",
]

TIDY_COLUMNS = [
    "quantity",
    "term",
    "group",
    "estimate",
    "std_error",
    "lower",
    "upper",
    "interval",
    "level",
    "method",
    "p_value",
    "p_positive",
]

_NAME = re.compile(r"^(?P<term>[^\[]+)(\[(?P<group>.*)\])?$")


def split_name(quantity: str) -> tuple[str, str]:
    """``slope[first]`` → (``slope``, ``first``); ``ATT`` → (``ATT``, ``""``)."""
    m = _NAME.match(quantity)
    if not m:
        return quantity, ""
    return m.group("term"), m.group("group") or ""


def draws_2d(a: np.ndarray) -> np.ndarray:
    """Draws as (chain, draw): 1-D bootstrap/Monte Carlo draws become one chain."""
    a = np.asarray(a, dtype=float)
    return a[None, :] if a.ndim == 1 else a.reshape(a.shape[0], -1)


def summarise_draws(
    draws: Mapping[str, np.ndarray],
    *,
    method: str,
    hdi_prob: float | None = None,
    mcmc: bool = True,
) -> pd.DataFrame:
    """Mean, sd, HDI and P(> 0) for each named 1-D quantity; (chain, draw) or (draw,) arrays."""
    from arviz_stats.base import array_stats

    prob = HDI_PROB if hdi_prob is None else hdi_prob
    rows = []
    for name, a in draws.items():
        x = draws_2d(a)
        flat = x.reshape(-1)
        lo, hi = array_stats.hdi(flat, prob=prob)
        term, group = split_name(name)
        row = {
            "quantity": name,
            "term": term,
            "group": group,
            "estimate": float(flat.mean()),
            "std_error": float(flat.std(ddof=1)),
            "lower": float(lo),
            "upper": float(hi),
            "interval": "hdi",
            "level": prob,
            "method": method,
            "p_value": np.nan,
            "p_positive": float((flat > 0).mean()),
            "median": float(np.median(flat)),
        }
        if mcmc and x.shape[0] >= 2 and x.shape[1] >= 4:
            row["r_hat"] = float(array_stats.rhat(x))
            row["ess_bulk"] = float(array_stats.ess(x, method="bulk"))
            row["ess_tail"] = float(array_stats.ess(x, method="tail", prob=(0.05, 0.95)))
        rows.append(row)
    return tidy_frame(rows)


def frequentist_row(
    quantity: str,
    *,
    estimate: float,
    std_error: float,
    method: str,
    lower: float | None = None,
    upper: float | None = None,
    p_value: float | None = None,
    level: float | None = None,
    df: float | None = None,
) -> dict:
    """One tidy row for a frequentist estimate; a normal interval if bounds are not given."""
    from scipy import stats

    lvl = HDI_PROB if level is None else level
    if lower is None or upper is None:
        q = stats.t.ppf(0.5 + lvl / 2, df) if df else stats.norm.ppf(0.5 + lvl / 2)
        lower, upper = estimate - q * std_error, estimate + q * std_error
    if p_value is None and std_error and np.isfinite(std_error) and std_error > 0:
        tstat = estimate / std_error
        p_value = float(2 * (stats.t.sf(abs(tstat), df) if df else stats.norm.sf(abs(tstat))))
    term, group = split_name(quantity)
    row = {
        "quantity": quantity,
        "term": term,
        "group": group,
        "estimate": float(estimate),
        "std_error": float(std_error),
        "lower": float(lower),
        "upper": float(upper),
        "interval": "ci",
        "level": lvl,
        "method": method,
        "p_value": np.nan if p_value is None else float(p_value),
        "p_positive": np.nan,
    }
    if df is not None:
        row["df"] = float(df)
    return row


def tidy_frame(rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """Rows → DataFrame with the tidy columns first (extra columns kept after them)."""
    df = pd.DataFrame(rows)
    for c in TIDY_COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    extra = [c for c in df.columns if c not in TIDY_COLUMNS]
    return df[TIDY_COLUMNS + extra].reset_index(drop=True)
