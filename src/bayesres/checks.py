"""Predictive checks, LOO comparison and comparison-layer figures, reusable by every analysis.

Figures are plain matplotlib (returned, not saved: ``AnalysisResult.figures`` holds zero-argument
callables that draw them). ArviZ 1 names throughout: ``az.loo(...).elpd / .se / .p``,
``az.compare`` columns ``rank elpd p elpd_diff weight se dse``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "overlay_figure",
    "prior_predictive_draws",
    "predictive_figure",
    "prior_predictive_figure",
    "posterior_predictive_figure",
    "loo_table",
    "forest_overlay",
    "shrinkage_plot",
]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _group_values(idata: Any, group: str, var: str) -> np.ndarray:
    if group not in idata.children:
        raise ValueError(f"the DataTree has no {group!r} group (groups: {list(idata.children)})")
    ds = idata[group]
    if var not in ds:
        raise ValueError(f"{group!r} has no variable {var!r} (has: {list(ds.data_vars)})")
    return np.asarray(ds[var].values, dtype=float)


def predictive_figure(
    idata: Any,
    *,
    var: str,
    group: str = "posterior_predictive",
    n_lines: int = 50,
    seed: int = 0,
    title: str | None = None,
) -> Any:
    """:func:`overlay_figure` of ``n_lines`` random (chain, draw) replicates of ``var`` in
    ``group`` over ``observed_data``. Returns the matplotlib Figure."""
    sims = _group_values(idata, group, var)
    sims = sims.reshape(-1, int(np.prod(sims.shape[2:])) if sims.ndim > 2 else 1)
    if "observed_data" not in idata.children or var not in idata["observed_data"]:
        raise ValueError(f"the DataTree has no observed {var!r} to compare with")
    obs = np.asarray(idata["observed_data"][var].values, dtype=float).ravel()
    rng = np.random.default_rng(seed)
    pick = rng.choice(sims.shape[0], size=min(n_lines, sims.shape[0]), replace=False)
    kind = "prior" if group.startswith("prior") else "posterior"
    fig = overlay_figure(obs, sims[pick], kind=kind, xlabel=var, n_lines=n_lines)
    if title:
        fig.axes[0].set_title(title)
    return fig


def prior_predictive_draws(model: Any, *, var: str = "y", draws: int = 100, seed: int = 0) -> Any:
    """``draws`` x obs replicates of the observed variable ``var`` from the model's prior
    (``pm.sample_prior_predictive``: forward sampling, no MCMC)."""
    import logging

    import pymc as pm

    log = logging.getLogger("pymc.sampling.forward")  # its INFO "Sampling: [...]" line
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        with model:
            prior = pm.sample_prior_predictive(draws=draws, random_seed=seed, var_names=[var])
    finally:
        log.setLevel(level)
    sims = np.asarray(prior["prior_predictive"][var].values, dtype=float)
    return sims.reshape(-1, sims.shape[-1])


def overlay_figure(
    y: np.ndarray, reps: np.ndarray, *, kind: str, xlabel: str = "outcome", n_lines: int = 50
) -> Any:
    """Histogram densities of ``n_lines`` replicated data sets (rows of ``reps``) over the
    observed ``y``: a prior or posterior predictive check (``kind``)."""
    plt = _plt()
    reps = np.asarray(reps, dtype=float)[:n_lines]
    y = np.asarray(y, dtype=float)
    lo, hi = np.nanquantile(np.concatenate([reps.ravel(), y]), [0.005, 0.995])
    bins = np.linspace(lo, hi, 40)
    centers = 0.5 * (bins[1:] + bins[:-1])
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for r in reps:
        ax.plot(centers, np.histogram(r, bins=bins, density=True)[0], color="#4c72b0", alpha=0.15)
    ax.plot(centers, np.histogram(y, bins=bins, density=True)[0], color="black", lw=2,
            label="observed")  # fmt: skip
    ax.plot([], [], color="#4c72b0", label=f"{kind} predictive ({len(reps)} data sets)")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(f"{kind} predictive check")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    fig.tight_layout()
    return fig


def prior_predictive_figure(idata: Any, *, var: str, **kw: Any) -> Any:
    return predictive_figure(idata, var=var, group="prior_predictive", **kw)


def posterior_predictive_figure(idata: Any, *, var: str, **kw: Any) -> Any:
    return predictive_figure(idata, var=var, group="posterior_predictive", **kw)


def loo_table(models: Mapping[str, Any], *, var_name: str | None = None) -> pd.DataFrame:
    """PSIS-LOO comparison of fitted models (each a DataTree with a ``log_likelihood`` group).

    Returns ``model, rank, elpd, se, p, elpd_diff, dse, weight, pareto_k_max`` sorted by rank.
    """
    import arviz as az

    loos = {}
    kmax = {}
    for name, dt in models.items():
        res = az.loo(dt, var_name=var_name) if var_name else az.loo(dt)
        loos[name] = res
        kmax[name] = float(np.nanmax(np.asarray(res.pareto_k)))
    if len(loos) == 1:
        ((name, res),) = loos.items()
        return pd.DataFrame(
            [
                {
                    "model": name,
                    "rank": 0,
                    "elpd": float(res.elpd),
                    "se": float(res.se),
                    "p": float(res.p),
                    "elpd_diff": 0.0,
                    "dse": 0.0,
                    "weight": 1.0,
                    "pareto_k_max": kmax[name],
                }
            ]
        )
    cmp = az.compare(loos)
    out = pd.DataFrame(cmp).reset_index(names="model")
    keep = [
        c for c in ("model", "rank", "elpd", "se", "p", "elpd_diff", "dse", "weight") if c in out
    ]
    out = out[keep].copy()
    out["pareto_k_max"] = out["model"].map(kmax)
    return out.sort_values("rank").reset_index(drop=True)


def forest_overlay(
    comparison: pd.DataFrame,
    *,
    published: pd.DataFrame | None = None,
    quantities: Sequence[str] | None = None,
    title: str = "Bayesian vs frequentist vs published",
    max_rows: int = 30,
) -> Any:
    """Forest plot: posterior mean + HDI, frequentist estimate + CI and the paper's number.

    ``comparison`` is ``compare_tables`` output (post_mean, hdi_low/high, freq_estimate,
    freq_ci_low/high); ``published`` a ``published_table`` (quantity, published[, published_se]).
    """
    plt = _plt()
    cmp = comparison.copy()
    if quantities is not None:
        cmp = cmp[cmp["quantity"].isin(list(quantities))]
    cmp = cmp.head(max_rows).reset_index(drop=True)
    pub = (
        dict(zip(published["quantity"], published["published"], strict=True))
        if published is not None and len(published)
        else {}
    )
    n = len(cmp)
    fig, ax = plt.subplots(figsize=(7, 0.45 * max(n, 2) + 1.2))
    y = np.arange(n)[::-1].astype(float)
    ax.errorbar(
        cmp["post_mean"],
        y + 0.15,
        xerr=[cmp["post_mean"] - cmp["hdi_low"], cmp["hdi_high"] - cmp["post_mean"]],
        fmt="o",
        color="#4c72b0",
        label="posterior mean, HDI",
        capsize=2,
    )
    ax.errorbar(
        cmp["freq_estimate"],
        y - 0.15,
        xerr=[
            cmp["freq_estimate"] - cmp["freq_ci_low"],
            cmp["freq_ci_high"] - cmp["freq_estimate"],
        ],
        fmt="s",
        color="#dd8452",
        label="frequentist estimate, CI",
        capsize=2,
    )
    px = [pub.get(q, np.nan) for q in cmp["quantity"]]
    if any(np.isfinite(px)):
        ax.plot(px, y, "D", color="#55a868", mfc="none", ms=7, label="published")
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax.set_yticks(y, cmp["quantity"])
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def shrinkage_plot(
    estimates: pd.DataFrame,
    frequentist: pd.DataFrame,
    *,
    prefix: str,
    pooled: str | None = None,
    sizes: Mapping[str, int] | None = None,
    title: str | None = None,
) -> Any:
    """Tier terms ``prefix[<k>]``: frequentist (no-pool) estimate -> posterior mean, per tier.

    Arrows show how far partial pooling moves each tier towards the pooled value (``pooled``:
    a quantity name, drawn as a vertical line); ``sizes`` labels tiers with their n.
    """
    plt = _plt()
    b = estimates[estimates["quantity"].str.startswith(prefix + "[")].set_index("quantity")
    f = frequentist[frequentist["quantity"].str.startswith(prefix + "[")].set_index("quantity")
    common = [q for q in b.index if q in f.index]
    fig, ax = plt.subplots(figsize=(6.5, 0.5 * max(len(common), 2) + 1.2))
    for i, q in enumerate(common):
        yv = len(common) - 1 - i
        fe, be = float(f.loc[q, "estimate"]), float(b.loc[q, "estimate"])
        ax.plot([f.loc[q, "lower"], f.loc[q, "upper"]], [yv - 0.12] * 2, color="#dd8452", lw=1)
        ax.plot([b.loc[q, "lower"], b.loc[q, "upper"]], [yv + 0.12] * 2, color="#4c72b0", lw=1)
        ax.annotate(
            "",
            xy=(be, yv + 0.12),
            xytext=(fe, yv - 0.12),
            arrowprops={"arrowstyle": "->", "color": "grey"},
        )
        ax.plot(fe, yv - 0.12, "s", color="#dd8452")
        ax.plot(be, yv + 0.12, "o", color="#4c72b0")
    labels = []
    for q in common:
        k = q[len(prefix) + 1 : -1]
        labels.append(f"{k} (n={sizes[k]})" if sizes and k in sizes else k)
    ax.set_yticks(range(len(common))[::-1], labels)
    if pooled is not None and pooled in set(estimates["quantity"]):
        pv = float(estimates.set_index("quantity").loc[pooled, "estimate"])
        ax.axvline(pv, color="#4c72b0", ls="--", lw=0.8, label=f"pooled {pooled}")
    ax.plot([], [], "s", color="#dd8452", label="no pooling (frequentist)")
    ax.plot([], [], "o", color="#4c72b0", label="partial pooling (posterior)")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title or f"shrinkage of {prefix} by tier")
    fig.tight_layout()
    return fig
