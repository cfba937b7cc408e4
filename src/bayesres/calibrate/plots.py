"""Figures for calibration studies (matplotlib, Agg): SBC ECDF differences, coverage, prior
sensitivity."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from bayesres.io import atomic_path

__all__ = ["plot_sbc_ecdf", "plot_coverage", "plot_sensitivity"]


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
        # more methods than the default 10-colour cycle: one distinct colour each (tab20)
        cmap = plt.get_cmap("tab20") if len(methods) > 10 else None
        for j, m in enumerate(methods):
            gm = g[g["method"] == m].set_index("quantity").reindex(quantities)
            pos = np.arange(len(quantities)) - 0.4 + width * (j + 0.5)
            kw = {"color": cmap(j % 20)} if cmap is not None else {}
            ax.errorbar(
                pos, gm["coverage"], yerr=2 * gm["mcse"], fmt="o", ms=4, capsize=2, label=m, **kw
            )
        ax.axhline(level, color="k", lw=0.8, ls="--")
        ax.set_xticks(np.arange(len(quantities)), quantities, rotation=20, fontsize=8)
        ax.set_ylabel(f"coverage of {level:.0%} intervals (±2 MCSE)")
        reps = int(g["reps"].max())
        ax.set_title(f"{sc}: coverage at fixed parameters (R = {reps})", fontsize=10)
        if len(methods) > 10:  # below the axes, where it hides no point
            ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.28))
        else:
            ax.legend(fontsize=7, ncol=3, loc="lower left")
        ax.set_ylim(max(0.0, float((g["coverage"] - 2 * g["mcse"]).min()) - 0.05), 1.01)
        paths.append(_save(fig, folder / f"coverage_{_safe(str(sc))}.png"))
    return paths


def plot_sensitivity(table: pd.DataFrame, path: str | Path, *, reference: float = 0.5) -> Path:
    """Prior sensitivity dot plot: mean shift in reference sds (x) per quantity (rows), one panel
    per prior, one colour per scale factor. Filled: refit; hollow: PSIS approximation (shown when
    its Pareto k <= 0.7); red ring: the 95 % interval's verdict on 0 changed; dashed lines at
    +-``reference`` sd."""
    import matplotlib.pyplot as plt

    from bayesres.config import PARETO_K_MAX

    priors = list(dict.fromkeys(table["prior"]))
    quantities = list(dict.fromkeys(table["quantity"]))
    factors = sorted(dict.fromkeys(table["factor"]))
    n = max(len(priors), 1)
    height = 1.4 + 0.38 * max(len(quantities), 1)
    fig, axes = plt.subplots(1, n, figsize=(2.4 + 2.6 * n, height), sharey=True, squeeze=False)
    ypos = {q: i for i, q in enumerate(quantities)}
    offset = np.linspace(-0.18, 0.18, len(factors)) if len(factors) > 1 else np.zeros(1)
    shifts = table[["shift_sd", "psis_shift_sd"]].to_numpy(float)
    lim = max(1.0, 1.1 * float(np.nanmax(np.abs(shifts), initial=0.0)))
    for ax, prior in zip(axes[0], priors, strict=False):
        g = table[table["prior"] == prior]
        for j, f in enumerate(factors):
            gf = g[g["factor"] == f]
            y = np.array([ypos[q] for q in gf["quantity"]], float) + offset[j]
            x = gf["shift_sd"].to_numpy(float)
            ax.plot(x, y, "o", color=f"C{j}", ms=6, label=f"x{f:g} refit")
            px = gf["psis_shift_sd"].to_numpy(float)
            px = np.where(gf["psis_pareto_k"].to_numpy(float) <= PARETO_K_MAX, px, np.nan)
            ax.plot(px, y, "o", mfc="none", color=f"C{j}", ms=9, label=f"x{f:g} PSIS")
            ch = gf["verdict_changed"].to_numpy(bool)
            ax.plot(x[ch], y[ch], "o", mfc="none", mec="red", ms=13, mew=1.5)
        for s in (-reference, reference):
            ax.axvline(s, color="0.5", ls="--", lw=0.8)
        ax.axvline(0, color="0.3", lw=0.6)
        ax.set_xlim(-lim, lim)
        ax.set_title(str(prior), fontsize=10)
        ax.set_xlabel("mean shift (reference sd)")
    axes[0][0].set_yticks(range(len(quantities)), quantities, fontsize=8)
    axes[0][0].set_ylim(len(quantities) - 0.5, -0.5)
    from matplotlib.lines import Line2D

    ring = Line2D([], [], ls="", marker="o", mfc="none", mec="red", ms=9, mew=1.5)
    handles, labels = axes[0][-1].get_legend_handles_labels()
    axes[0][-1].legend(
        handles + [ring], labels + ["verdict changed"], fontsize=7, loc="lower right"
    )
    fig.suptitle(
        "Prior sensitivity: each prior scale x factor, one at a time "
        "(red ring: the 95 % interval's verdict on 0 changed)",
        fontsize=9,
    )
    fig.tight_layout()
    return _save(fig, Path(path))
