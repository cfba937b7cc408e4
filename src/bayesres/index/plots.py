"""Figures of the index analysis: weights forest, rank caterpillar, scores by tier.

Each function takes the labelled tables of :func:`bayesres.index.bootstrap.summarise_index` and
returns a matplotlib Figure (drawn lazily by ``AnalysisResult.figures``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["weights_forest", "rank_caterpillar", "tier_scores_plot"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def weights_forest(weights: pd.DataFrame, *, method: str = "posterior", title: str = ""):
    """Exact entropy weight (dot) vs posterior mean and interval (line) per indicator."""
    plt = _plt()
    w = weights.iloc[::-1].reset_index(drop=True)
    y = np.arange(len(w))
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(w) + 1.5))
    if "weight_mean" in w:
        ax.hlines(
            y, w["weight_lower"], w["weight_upper"], color="C0", lw=2, label=f"{method} interval"
        )
        ax.plot(w["weight_mean"], y, "o", color="C0", ms=4, label=f"{method} mean")
    if "extremes_lower" in w:
        ax.hlines(
            y - 0.25,
            w["extremes_lower"],
            w["extremes_upper"],
            color="C2",
            lw=1,
            label="bootstrap, re-taken min/max",
        )
    exact = w["weight_exact"] if "weight_exact" in w else w["weight"]
    ax.plot(exact, y, "D", color="C3", ms=4, label="entropy (exact)")
    ax.set_yticks(y, [f"{i} ({d})" for i, d in zip(w["indicator"], w["dimension"], strict=True)])
    ax.set_xlabel("weight")
    ax.set_title(title or "Entropy weights: exact vs posterior")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def rank_caterpillar(ranks: pd.DataFrame, *, max_units: int = 60, title: str = ""):
    """Posterior rank median and interval per unit, best first (at most ``max_units`` shown)."""
    plt = _plt()
    r = ranks.sort_values("rank_median" if "rank_median" in ranks else "rank").head(max_units)
    r = r.iloc[::-1].reset_index(drop=True)
    y = np.arange(len(r))
    fig, ax = plt.subplots(figsize=(7, 0.22 * len(r) + 1.5))
    if "rank_lower" in r:
        ax.hlines(y, r["rank_lower"], r["rank_upper"], color="C0", lw=2, label="rank interval")
        ax.plot(r["rank_median"], y, "o", color="C0", ms=3, label="posterior median")
    ax.plot(
        r["rank_exact"] if "rank_exact" in r else r["rank"],
        y,
        "D",
        color="C3",
        ms=3,
        label="entropy (exact)",
    )
    ax.set_yticks(y, r["unit"].astype(str), fontsize=7)
    ax.set_xlabel("rank (1 = most resilient)")
    ax.set_title(title or "Rank uncertainty")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def tier_scores_plot(ranks: pd.DataFrame, tiers: pd.DataFrame | None, *, title: str = ""):
    """Unit scores (exact) by tier, with each tier's mean score and its interval."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    col = "score_exact" if "score_exact" in ranks else "score"
    levels = list(tiers["tier"]) if tiers is not None else sorted(ranks["tier"].unique())
    for k, t in enumerate(levels):
        v = ranks.loc[ranks["tier"] == t, col].to_numpy()
        jitter = np.linspace(-0.15, 0.15, v.size) if v.size > 1 else np.zeros(1)
        ax.plot(k + jitter, v, ".", color="0.6", ms=4)
    if tiers is not None:
        x = np.arange(len(levels))
        ax.vlines(
            x + 0.3,
            tiers["score_lower"],
            tiers["score_upper"],
            color="C0",
            lw=2,
            label="tier mean, interval",
        )
        ax.plot(x + 0.3, tiers["score_mean"], "o", color="C0")
        ax.plot(x + 0.3, tiers["score_exact"], "D", color="C3", ms=4, label="tier mean, exact")
        ax.legend(fontsize=8)
    ax.set_xticks(np.arange(len(levels)), levels)
    ax.set_ylabel("index score")
    ax.set_title(title or "Index scores by tier")
    fig.tight_layout()
    return fig
