"""Figures for calibration studies (matplotlib, Agg): SBC ECDF differences and coverage."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from bayesres.io import atomic_path

__all__ = ["plot_sbc_ecdf", "plot_coverage"]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def _save(fig: object, path: Path) -> Path:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return path


def plot_sbc_ecdf(
    ranks: Mapping[str, np.ndarray],
    folder: str | Path,
    *,
    n_ranks: int,
    table: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> list[Path]:
    """One ECDF-difference plot per quantity (ECDF of fractional ranks minus z) with the
    simultaneous 1 - alpha band of Säilynoja et al. (2022), plus one overview grid."""
    import matplotlib.pyplot as plt

    from bayesres.calibrate.sbc import _ecdf_counts, simultaneous_band

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    names = list(ranks)
    ncol = min(4, max(len(names), 1))
    nrow = int(np.ceil(len(names) / ncol))
    grid, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.4 * nrow), squeeze=False)
    bands: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    verdict = {} if table is None else dict(zip(table["quantity"], table["passed"], strict=True))
    for i, name in enumerate(names):
        r = np.asarray(ranks[name], int)
        n = len(r)
        if n not in bands:
            bands[n] = simultaneous_band(n, n_ranks, alpha=alpha)
        z, lo, hi = bands[n]
        ecdf = _ecdf_counts(r, n_ranks) / n
        single, ax1 = plt.subplots(figsize=(4.5, 3.2))
        for ax in (ax1, axes.flat[i]):
            ax.fill_between(
                z, lo - z, hi - z, color="0.85", step="mid", label=f"{1 - alpha:.0%} band"
            )
            ax.step(z, ecdf - z, where="mid", color="C0" if verdict.get(name, True) else "C3")
            ax.axhline(0, color="0.4", lw=0.6)
            ax.set_title(name, fontsize=9)
        ax1.set_xlabel("fractional rank")
        ax1.set_ylabel("ECDF - uniform")
        ax1.legend(fontsize=7, loc="lower right")
        paths.append(_save(single, folder / f"sbc_ecdf_{_safe(name)}.png"))
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    grid.suptitle("SBC: ECDF difference of ranks with simultaneous bands", fontsize=10)
    grid.tight_layout()
    paths.append(_save(grid, folder / "sbc_ecdf.png"))
    return paths


def plot_coverage(table: pd.DataFrame, folder: str | Path, *, level: float = 0.95) -> list[Path]:
    """Per scenario: coverage by method and quantity with +-2 MCSE bars and the nominal line."""
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for sc, g in table.groupby("scenario", sort=True):
        methods = list(dict.fromkeys(g["method"]))
        quantities = list(dict.fromkeys(g["quantity"]))
        fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(quantities), 3.6))
        width = 0.8 / max(len(methods), 1)
        for j, m in enumerate(methods):
            gm = g[g["method"] == m].set_index("quantity").reindex(quantities)
            pos = np.arange(len(quantities)) - 0.4 + width * (j + 0.5)
            ax.errorbar(pos, gm["coverage"], yerr=2 * gm["mcse"], fmt="o", ms=4, capsize=2, label=m)
        ax.axhline(level, color="k", lw=0.8, ls="--")
        ax.set_xticks(np.arange(len(quantities)), quantities, rotation=20, fontsize=8)
        ax.set_ylabel(f"coverage of {level:.0%} intervals (±2 MCSE)")
        reps = int(g["reps"].max())
        ax.set_title(f"{sc}: coverage at fixed parameters (R = {reps})", fontsize=10)
        ax.legend(fontsize=7, ncol=3, loc="lower left")
        ax.set_ylim(max(0.0, float((g["coverage"] - 2 * g["mcse"]).min()) - 0.05), 1.01)
        paths.append(_save(fig, folder / f"coverage_{_safe(str(sc))}.png"))
    return paths
