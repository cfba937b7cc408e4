"""Carry index uncertainty into the regression (methods.md section 1.3): the cut posterior.

Given M draws of the resilience index (``tables/index_draws.csv`` of the index analysis: column
``unit`` then ``draw_0 … draw_{M-1}``), the Bayesian model is refitted on each draw with one
compiled model (``bayesres.sampling.fit`` with the same key, new ``pm.Data``) and the posterior
draws are pooled. The index informs the regression; the outcome cannot reshape the index.
Frequentist twin: OLS per draw and Rubin's rules (T = W + (1 + 1/M) B, Barnard-Rubin df).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesres.config import HDI_PROB, SamplerSettings
from bayesres.errors import DataError
from bayesres.regression import bayes, freq
from bayesres.summary import summarise_draws
from bayesres.validate import CrossSection

__all__ = ["read_index_draws", "refit_over_draws"]


def read_index_draws(source: str | Path | pd.DataFrame, *, units: list[str]) -> np.ndarray:
    """Index draws aligned to ``units``: array (M, n)."""
    if isinstance(source, pd.DataFrame):
        df, name = source, "index draws"
    else:
        from bayesres.io import read_table

        df, name = read_table(Path(source)), str(source)
    if "unit" not in df.columns:
        raise DataError("index draws need a 'unit' column", file=name, column="unit")
    cols = [c for c in df.columns if str(c).startswith("draw_")]
    if not cols:
        raise DataError("no draw_<m> columns", file=name, hint="Pass tables/index_draws.csv.")
    df = df.assign(unit=df["unit"].astype(str)).set_index("unit")
    missing = [u for u in units if u not in df.index]
    if missing:
        raise DataError(
            f"unit {missing[0]!r} of the regression data has no index draws",
            file=name,
            column="unit",
            hint="Use index draws computed on the same units.",
        )
    vals = df.loc[units, cols].to_numpy(dtype=float).T
    if not np.all(np.isfinite(vals)):
        raise DataError("non-finite index draws", file=name)
    return vals


def refit_over_draws(
    cs: CrossSection,
    draws: np.ndarray,
    *,
    model: Any,
    likelihood: str = "normal",
    variant: str = "hierarchical",
    settings: SamplerSettings,
    plugin: dict[str, np.ndarray] | None = None,
    hdi_prob: float = HDI_PROB,
    retry: bool = True,
    centre: str = bayes.DEFAULT_CENTRE,
) -> dict[str, Any]:
    """Refit on each index draw with the compiled ``model``; pool; OLS + Rubin twin.

    ``draws`` are index scores (M, n); logged when the cross-section is logged. ``plugin`` holds
    the plug-in fit's raw draws, for the sd-inflation table. ``centre``: the centring of x
    (``bayes.prepare``), the same as the plug-in fit's.
    """
    m_draws = draws.shape[0]
    pooled: dict[str, list[np.ndarray]] = {}
    divergences, t0 = 0, time.perf_counter()
    ols_est: dict[str, list[tuple[float, float]]] = {}
    for m in range(m_draws):
        x = np.log(draws[m]) if cs.log else draws[m]
        data = bayes.prepare(cs, x=x, centre=centre)
        s = SamplerSettings(**{**settings.__dict__, "seed": settings.seed + m})
        _, res = bayes.fit_variant(
            data,
            variant=variant,
            likelihood=likelihood,
            settings=s,
            model=model,
            swap=True,
            retry=retry,
            convergence=False,  # pooled below; only divergences decide (the ladder), and count
            light=True,  # the posterior is all that is pooled
        )
        divergences += res.report.divergences
        for k, v in bayes.raw_draws(res.idata, data).items():
            pooled.setdefault(k, []).append(v.reshape(-1))
        d = freq.design(cs, kind="slope_dummies" if len(data.tiers) > 1 else "pooled", x=x)
        fit_ = freq.ols(cs.y, d, cov_type="HC1")
        for q in ("slope", *[c for c in d.contrasts if c.startswith("slope[")]):
            ell = d.contrasts[q]
            ols_est.setdefault(q, []).append(
                (float(ell @ fit_.params), float(ell @ fit_.cov_params() @ ell))
            )
        dp = freq.design(cs, kind="pooled", x=x)
        fp = freq.ols(cs.y, dp, cov_type="HC1")
        ols_est.setdefault("slope", [])[-1:] = [(float(fp.params[1]), float(fp.cov_params()[1, 1]))]
    seconds = time.perf_counter() - t0
    cut = {k: np.concatenate(v)[None, :] for k, v in pooled.items()}
    est = summarise_draws(
        cut,
        method=f"Bayes {variant} ({likelihood}), cut posterior over {m_draws} index draws",
        hdi_prob=hdi_prob,
        mcmc=False,
    )
    rows = []
    df_complete = cs.n - (2 + len(cs.controls) + max(len(cs.tiers) - 1, 0))
    for q, pairs in ols_est.items():
        e, v = np.array(pairs).T
        r = freq.rubin(e, v, df_complete=df_complete)
        rows.append({"quantity": q, "method": "OLS-HC1 + Rubin", **r, "se": np.sqrt(r["total"])})
    inflation = []
    if plugin:
        for q, v in cut.items():
            if q in plugin and q.startswith(("slope", "slope_diff")):
                sd0 = float(np.std(plugin[q], ddof=1))
                sd1 = float(np.std(v, ddof=1))
                inflation.append(
                    {"quantity": q, "sd_plugin": sd0, "sd_cut": sd1, "sd_ratio": sd1 / sd0}
                )
    return {
        "estimates": est,
        "rubin": pd.DataFrame(rows),
        "inflation": pd.DataFrame(inflation),
        "seconds": seconds,
        "divergences": divergences,
        "draws": cut,
        "m": m_draws,
    }
