"""Figures for the regression result: tier-slope forest, shrinkage, posterior predictive check.

Each function takes plain tables / arrays and returns a matplotlib Figure (drawn lazily by
``AnalysisResult.figures``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["forest_tier_slopes", "shrinkage", "ppc"]


def forest_tier_slopes(tables: Mapping[str, pd.DataFrame]):
    """Intervals of slope[<tier>] per method (tidy tables keyed by a label)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    labels = list(tables)
    offsets = np.linspace(-0.25, 0.25, max(len(labels), 1))
    tiers: list[str] = []
    for t in tables.values():
        tiers += [q for q in t["quantity"] if q.startswith("slope[") and q not in tiers]
    for off, lab in zip(offsets, labels, strict=True):
        t = tables[lab].set_index("quantity")
        for i, q in enumerate(tiers):
            if q in t.index:
                r = t.loc[q]
                ax.plot([r["lower"], r["upper"]], [i + off] * 2, lw=2)
                ax.plot(
                    r["estimate"],
                    i + off,
                    "o",
                    color=ax.lines[-1].get_color(),
                    label=lab if i == 0 else None,
                )
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(range(len(tiers)), tiers)
    ax.set_xlabel("elasticity of the export ratio w.r.t. the index (95 % interval)")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def shrinkage(nopool: pd.DataFrame, hier: pd.DataFrame, pooled_slope: float):
    """No-pool vs hierarchical tier slopes, with the pooled slope as a reference line."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    a = nopool.set_index("quantity")
    b = hier.set_index("quantity")
    qs = [q for q in b.index if q.startswith("slope[") and q in a.index]
    for i, q in enumerate(qs):
        ax.annotate(
            "",
            xy=(1, b.loc[q, "estimate"]),
            xytext=(0, a.loc[q, "estimate"]),
            arrowprops={"arrowstyle": "->"},
        )
        ax.text(1.03, b.loc[q, "estimate"], q, va="center", fontsize=8)
        ax.plot([0, 1], [a.loc[q, "estimate"], b.loc[q, "estimate"]], "o", color=f"C{i}")
    ax.axhline(pooled_slope, ls="--", color="grey", label="pooled slope")
    ax.set_xticks([0, 1], ["no pooling", "hierarchical"])
    ax.set_xlim(-0.2, 1.5)
    ax.set_ylabel("posterior mean tier slope")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def ppc(y: np.ndarray, y_rep: np.ndarray, *, n_show: int = 50):
    """Observed outcome density against replicated datasets (y_rep: draws x obs)."""
    import matplotlib.pyplot as plt
    from scipy.stats import gaussian_kde

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    grid = np.linspace(
        min(y.min(), np.quantile(y_rep, 0.005)), max(y.max(), np.quantile(y_rep, 0.995)), 200
    )
    for r in y_rep[:n_show]:
        ax.plot(grid, gaussian_kde(r)(grid), color="C0", alpha=0.15, lw=0.8)
    ax.plot(grid, gaussian_kde(y)(grid), color="k", lw=2, label="observed")
    ax.set_xlabel("outcome")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
