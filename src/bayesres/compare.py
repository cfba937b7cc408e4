"""Bayes-versus-frequentist comparison: a pure function of two tidy tables.

For every quantity with both twins: estimate, SE and CI beside posterior mean, sd and HDI;
z = (mean - estimate) / SE; the ratio sd / SE; and agreement flags (|z| < 2, intervals overlap,
same sign decision).

Twins pair by name. A frequentist row may also name, in a ``twin_of`` column, the Bayesian
quantity it estimates under another name (Sun-Abraham's ``SA`` is a twin of ``ATT``); it then
gets a row of its own, keyed by its own name, with ``bayes_quantity`` saying which posterior it
sits beside. ``bayes_quantity`` equals ``quantity`` for the rows paired by name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["compare_tables"]


def _pairs(b: pd.DataFrame, f: pd.DataFrame, names: list[str], twins: list[str]) -> pd.DataFrame:
    """Rows for frequentist ``names`` set beside the Bayesian ``twins`` (same length)."""
    b, f = b.loc[twins], f.loc[names]
    return pd.DataFrame(
        {
            "quantity": names,
            "freq_method": f["method"].to_numpy(),
            "freq_estimate": f["estimate"].to_numpy(float),
            "freq_se": f["std_error"].to_numpy(float),
            "freq_ci_low": f["lower"].to_numpy(float),
            "freq_ci_high": f["upper"].to_numpy(float),
            "freq_p_value": f["p_value"].to_numpy(float),
            "bayes_method": b["method"].to_numpy(),
            "post_mean": b["estimate"].to_numpy(float),
            "post_sd": b["std_error"].to_numpy(float),
            "hdi_low": b["lower"].to_numpy(float),
            "hdi_high": b["upper"].to_numpy(float),
            "p_positive": b["p_positive"].to_numpy(float),
            "bayes_quantity": twins,
        }
    )


def compare_tables(bayesian: pd.DataFrame, frequentist: pd.DataFrame) -> pd.DataFrame:
    if not len(bayesian) or not len(frequentist):
        return pd.DataFrame()
    b = bayesian.drop_duplicates("quantity").set_index("quantity")
    f = frequentist.drop_duplicates("quantity").set_index("quantity")
    common = [q for q in b.index if q in f.index]
    named: list[str] = []
    if "twin_of" in f.columns:
        twin = f["twin_of"]
        named = [
            q
            for q in f.index
            if isinstance(twin[q], str) and twin[q] != q and twin[q] in b.index and q not in b.index
        ]
    if not common and not named:
        return pd.DataFrame()
    parts = [_pairs(b, f, common, common)] if common else []
    if named:
        parts.append(_pairs(b, f, named, [f.loc[q, "twin_of"] for q in named]))
    out = pd.concat(parts, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z"] = (out["post_mean"] - out["freq_estimate"]) / out["freq_se"]
        out["sd_over_se"] = out["post_sd"] / out["freq_se"]
    out["agree_z"] = out["z"].abs() < 2
    out["intervals_overlap"] = (out["hdi_low"] <= out["freq_ci_high"]) & (
        out["freq_ci_low"] <= out["hdi_high"]
    )
    freq_excl = (out["freq_ci_low"] > 0) | (out["freq_ci_high"] < 0)
    bayes_excl = (out["hdi_low"] > 0) | (out["hdi_high"] < 0)
    out["same_decision"] = freq_excl == bayes_excl
    out["bayes_quantity"] = out.pop("bayes_quantity")  # last: the older columns keep their places
    return out
