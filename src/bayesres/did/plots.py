"""Figures of the ``did`` analysis: each a zero-argument callable returning a matplotlib Figure.

* ``event_study``: posterior mean of ATT_dynamic[e] with pointwise and simultaneous 95% bands,
  Callaway-Sant'Anna points with CIs, the TWFE coefficient as a line;
* ``tier_forest``: ATT_tier and the tier contrasts (posterior intervals beside split-sample TWFE);
* ``placebo``: density of the placebo TWFE estimates with the actual estimate;
* ``comparison``: Bayes-versus-frequentist table of the headline quantities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["comparison_figure", "event_study_figure", "figures", "tier_forest_figure"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def event_study_figure(event: pd.DataFrame, *, twfe: float | None = None) -> Any:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    e = event["event"].to_numpy()
    ax.fill_between(
        e, event["band_low"], event["band_high"], color="C0", alpha=0.15, label="simultaneous band"
    )
    ax.fill_between(
        e, event["eti_low"], event["eti_high"], color="C0", alpha=0.3, label="pointwise interval"
    )
    ax.plot(e, event["mean"], "o-", color="C0", label="posterior mean")
    if "cs_estimate" in event and event["cs_estimate"].notna().any():
        se = event["cs_se"].to_numpy(float)
        ax.errorbar(
            e + 0.12,
            event["cs_estimate"],
            yerr=1.96 * se,
            fmt="s",
            color="C3",
            ms=4,
            capsize=2,
            label="Callaway-Sant'Anna",
        )
    if twfe is not None and np.isfinite(twfe):
        ax.axhline(twfe, color="C2", ls="--", label=f"TWFE {twfe:.3g}")
    ax.axhline(0, color="0.4", lw=0.8)
    ax.axvline(-0.5, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("event time e = t - g")
    ax.set_ylabel("ATT (outcome units)")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def tier_forest_figure(estimates: pd.DataFrame, frequentist: pd.DataFrame) -> Any:
    plt = _plt()
    b = estimates[estimates["term"].isin(["ATT_tier", "ATT_tier_diff"])]
    f = frequentist.set_index("quantity") if len(frequentist) else pd.DataFrame()
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(len(b), 4) + 1))
    y = np.arange(len(b))[::-1]
    ax.hlines(y, b["lower"], b["upper"], color="C0", lw=2)
    ax.plot(b["estimate"], y, "o", color="C0", label="posterior mean, 95% HDI")
    for yy, q in zip(y, b["quantity"], strict=True):
        if len(f) and q in f.index:
            r = f.loc[q]
            ax.hlines(yy - 0.25, r["lower"], r["upper"], color="C3", lw=1)
            ax.plot(r["estimate"], yy - 0.25, "s", color="C3", ms=3)
    ax.plot([], [], "s-", color="C3", ms=3, label="split-sample TWFE, 95% CI")
    labels = [f"{q}  P(>0)={p:.2f}" for q, p in zip(b["quantity"], b["p_positive"], strict=True)]
    ax.set_yticks(y, labels, fontsize=8)
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_xlabel("ATT (outcome units)")
    ax.legend(fontsize=8, frameon=False, loc="best")
    fig.tight_layout()
    return fig


def comparison_figure(comparison: pd.DataFrame, *, max_rows: int = 25) -> Any:
    plt = _plt()
    order = ["ATT", "TWFE", "ATT_group", "ATT_dynamic", "ATT_calendar", "BJS"]
    cmp = comparison[
        comparison["quantity"].isin(order) | comparison["quantity"].str.startswith("ATT_tier")
    ]
    cmp = cmp.head(max_rows)
    cols = [
        "quantity",
        "freq_method",
        "freq_estimate",
        "freq_se",
        "post_mean",
        "post_sd",
        "z",
        "sd_over_se",
    ]
    cell = [
        [r[c] if isinstance(r[c], str) else f"{r[c]:.4g}" for c in cols]
        for r in cmp.to_dict("records")
    ]
    fig, ax = plt.subplots(figsize=(11, 0.3 * len(cell) + 1))
    ax.axis("off")
    if cell:
        tab = ax.table(cellText=cell, colLabels=cols, loc="center", cellLoc="left")
        tab.auto_set_font_size(False)
        tab.set_fontsize(7)
    fig.tight_layout()
    return fig


def figures(result: Any, *, design: Any = None, placebo: Any = None) -> dict[str, Callable]:
    """The named zero-argument figure callables of a did AnalysisResult."""
    out: dict[str, Callable] = {}
    freq = result.frequentist
    twfe = None
    if len(freq) and (freq["quantity"] == "TWFE").any():
        twfe = float(freq.loc[freq["quantity"] == "TWFE", "estimate"].iloc[0])
    if "event_study" in result.tables:
        out["event_study"] = lambda: event_study_figure(result.tables["event_study"], twfe=twfe)
    if result.estimates["term"].eq("ATT_tier").any():
        out["tier_forest"] = lambda: tier_forest_figure(result.estimates, result.frequentist)
    if placebo is not None:
        from bayesres.did.placebo import plot_placebo

        def _placebo() -> Any:
            plt = _plt()
            fig, ax = plt.subplots(figsize=(6, 4))
            plot_placebo(placebo, ax=ax)
            fig.tight_layout()
            return fig

        out["placebo"] = _placebo
    out["comparison"] = lambda: comparison_figure(result.comparison())
    return out
