"""Index weighting with uncertainty: exact entropy method and its Bayesian twins (issue 3).

``run(df, ...)`` is what ``bayesres index`` calls. Methods (methods.md section 1):

* ``entropy``: the exact entropy weight method only (deterministic, no posterior); its
  intervals are the ordinary bootstrap over units.
* ``bootstrap`` (default): Bayesian bootstrap of the entropy weights (Dirichlet over units).
* ``factor``: hierarchical latent-factor (measurement) model in PyMC; implied weights and scores.
* ``dirichlet``: two-level Dirichlet prior around the entropy weights (weight sensitivity).

Every method reports ``weight[<indicator>]``, ``dimension_weight[<dimension>]``, ``score[<unit>]``
(panel: ``score[<unit>,<time>]``), ``rank[<unit>]`` and, with tiers, ``tier_score[<tier>]``; the
frequentist side is always the exact EWM. ``tables["index_draws"]`` hands M draws of each unit's
score (panel: the unit's mean over periods) to the regression.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from bayesres.config import ENTROPY_SHIFT, HDI_PROB, SamplerSettings
from bayesres.errors import SpecError
from bayesres.index.bootstrap import (
    IndexDraws,
    bootstrap_weights,
    extremes_bootstrap_weights,
    ordinary_bootstrap_weights,
    summarise_index,
)
from bayesres.index.ewm import EntropyIndex, arrays_from_table, exact_entropy
from bayesres.results import AnalysisResult, DataInfo
from bayesres.validate import (
    IndicatorSpec,
    IndicatorTable,
    read_indicator_spec,
    validate_indicators,
)

__all__ = ["METHODS", "run", "exact_entropy", "prepare", "EntropyIndex"]

METHODS = ("entropy", "bootstrap", "factor", "dirichlet")
BOOTSTRAP_DRAWS = 4000
QUICK_DRAWS = 1000
FREQ_BOOT = 1000
EXTREMES_MAX_CELLS = 2_000_000  # rows x m x draws budget per chunked pass for the extremes option


def _resolve_spec(indicators: Any, dataset: str | None) -> IndicatorSpec:
    if isinstance(indicators, IndicatorSpec):
        return indicators
    if isinstance(indicators, pd.DataFrame):
        return IndicatorSpec.from_frame(indicators, source="indicator spec (DataFrame)")
    if indicators is not None:
        return read_indicator_spec(Path(indicators))
    if dataset is None:
        raise SpecError(
            "no indicator spec given",
            hint="Pass --indicators SPEC (indicator, dimension, direction).",
        )
    from bayesres import datasets

    return IndicatorSpec.from_frame(
        datasets.indicators(dataset), source=f"{dataset} indicators_file"
    )


def prepare(
    data: pd.DataFrame,
    *,
    unit: str | None = None,
    indicators: Any = None,
    time: str | None = None,
    tier: str | None = None,
    dataset: str | None = None,
    source: str | None = None,
) -> IndicatorTable:
    """Resolve datasheet defaults (unit, time, tier, spec) and validate the indicator table."""
    if dataset is not None:
        from bayesres import datasets

        meta = datasets.info(dataset)
        unit = unit or meta.unit or None
        time = time or meta.time or None
        tier = tier or meta.tier or None
    if not unit:
        raise SpecError("no unit column given", hint="Pass --unit COL (the city column).")
    spec = _resolve_spec(indicators, dataset)
    return validate_indicators(
        data, source=source or dataset or "<DataFrame>", spec=spec, unit=unit, time=time, tier=tier
    )


def run(
    data: pd.DataFrame,
    *,
    unit: str | None = None,
    indicators: Any = None,
    time: str | None = None,
    panel: str = "pooled",
    tier: str | None = None,
    method: str = "bootstrap",
    shift: float = ENTROPY_SHIFT,
    save_draws: int = 100,
    seed: int = 0,
    draws: int | None = None,
    chains: int | None = None,
    quick: bool = False,
    hdi_prob: float = HDI_PROB,
    sampler: str = "nutpie",
    data_info: DataInfo | None = None,
    dataset: str | None = None,
    progress: bool = False,
    kappa: float | None = None,
    extremes: bool | None = None,
    estimand: str = "resample",
) -> AnalysisResult:
    """Entropy-weighted index with uncertainty for weights, scores and ranks.

    ``draws``: bootstrap / Dirichlet draws in total (default 4000, ``quick`` 1000); factor: draws
    per chain. ``kappa``: Dirichlet concentration (method dirichlet, default 20). ``extremes``: also
    run the ordinary bootstrap that re-takes min / max (default: on when cheap). ``estimand``:
    ``resample`` (default; the Bayesian bootstrap of the EWM functional, centred on the exact
    weights) or ``shares`` (methods.md section 1.2 A's literal p = pi z / sum pi z, biased toward
    equal weights; see :func:`bayesres.index.bootstrap.bootstrap_weights`).
    """
    if method not in METHODS:
        raise SpecError(f"unknown method {method!r}", hint=f"Use one of: {', '.join(METHODS)}.")
    hdi_prob = HDI_PROB if hdi_prob is None else hdi_prob
    source = data_info.source if data_info is not None else (dataset or "<DataFrame>")
    table = prepare(
        data, unit=unit, indicators=indicators, time=time, tier=tier, dataset=dataset, source=source
    )
    arrays = arrays_from_table(table, panel=panel)
    exact = exact_entropy(arrays, shift=shift)
    n_draws = draws or (QUICK_DRAWS if quick else BOOTSTRAP_DRAWS)
    settings: dict[str, Any] = {
        "method": method,
        "seed": seed,
        "shift": shift,
        "panel": arrays.panel,
        "unit": table.unit,
        "time": table.time,
        "tier": table.tier,
        "hdi_prob": hdi_prob,
        "save_draws": save_draws,
        "frequentist_bootstrap": FREQ_BOOT,
        "unit_score": "mean over periods" if arrays.times is not None else "score",
    }
    notes: list[str] = []
    freq_w = ordinary_bootstrap_weights(exact.z, arrays, draws=FREQ_BOOT, seed=seed + 1)
    diagnostics = None
    fit_idata = None
    draw_obj: IndexDraws | None = None
    if method == "bootstrap":
        w = bootstrap_weights(exact.z, arrays, draws=n_draws, seed=seed, estimand=estimand)
        draw_obj = IndexDraws(w, f"Bayesian bootstrap EWM ({estimand})")
        settings.update(draws=n_draws, estimand=estimand)
    elif method == "dirichlet":
        from bayesres.index.sensitivity import DEFAULT_KAPPA, dirichlet_weights

        k = DEFAULT_KAPPA if kappa is None else kappa
        ws = [
            dirichlet_weights(
                exact.group_weights[g],
                arrays.dim_index,
                draws=n_draws,
                seed=seed + g,
                kappa_dimension=k,
                kappa_within=k,
            )
            for g in range(arrays.n_groups)
        ]
        import numpy as np

        draw_obj = IndexDraws(np.stack(ws, axis=1), f"Dirichlet prior around EWM (kappa={k:g})")
        settings.update(draws=n_draws, kappa=k)
        notes.append(
            "dirichlet: weights are drawn from a prior centred on the entropy weights; no data "
            "update them. Read the intervals as weight sensitivity, not as estimation uncertainty."
        )
    elif method == "factor":
        from bayesres.index.factor import fit_factor_index

        sampler_settings = SamplerSettings.make(
            draws=draws,
            chains=chains,
            seed=seed,
            quick=quick,
            sampler=sampler,
            progress=progress,
            adaptation="low_rank",  # loadings share one factor: dense-ish posterior (factor.py)
        )
        fres = fit_factor_index(exact, settings=sampler_settings)
        draw_obj = fres.draws
        diagnostics = fres.report
        fit_idata = fres.idata
        settings.update(
            draws=sampler_settings.draws,
            chains=sampler_settings.chains,
            tune=sampler_settings.tune,
            sampler=sampler_settings.sampler,
            target_accept=fres.report.target_accept,
            adaptation=sampler_settings.adaptation,
            seconds=fres.seconds,
            log_transformed=list(fres.log_columns),
        )
        notes.append(
            "factor: weights are the latent factor's regression-score weights (they weight "
            "covariation, not dispersion); ranks are read off the latent score xi."
        )
    ext_w = None
    want_ext = (
        extremes
        if extremes is not None
        else (draw_obj is not None and arrays.x.size * 1000 <= 50 * EXTREMES_MAX_CELLS)
    )
    if want_ext:
        ext_w = extremes_bootstrap_weights(arrays, draws=1000, seed=seed + 2, shift=shift)
        settings["extremes_bootstrap"] = 1000
    summary = summarise_index(
        exact,
        draw_obj,
        freq_weights=freq_w,
        hdi_prob=hdi_prob,
        save_draws=save_draws,
        seed=seed,
        extremes_weights=ext_w,
    )
    idata = fit_idata if fit_idata is not None else summary["idata"]
    tables = summary["tables"]
    figures = _figures(tables, draw_obj.method if draw_obj else "exact")
    if data_info is None:
        data_info = DataInfo(
            "<DataFrame>", None, len(data), bool(data.attrs.get("synthetic", False))
        )
    if data_info.synthetic:
        notes.append("SYNTHETIC data: numbers describe the synthetic replica, not the real cities.")
    return AnalysisResult(
        analysis="index",
        data=data_info,
        settings=settings,
        estimates=summary["estimates"],
        frequentist=summary["frequentist"],
        idata=idata,
        diagnostics=diagnostics,
        tables=tables,
        figures=figures,
        notes=notes,
        hdi_prob=hdi_prob,
    )


def _figures(tables: dict[str, pd.DataFrame], method: str) -> dict:
    from bayesres.index import plots

    figs = {"weights_forest": lambda: plots.weights_forest(tables["weights"], method=method)}
    figs["rank_caterpillar"] = lambda: plots.rank_caterpillar(tables["ranks"])
    if "tier" in tables["ranks"]:
        figs["scores_by_tier"] = lambda: plots.tier_scores_plot(
            tables["ranks"], tables.get("tier_scores")
        )
    return figs


from bayesres._callable import make_callable  # noqa: E402

make_callable(__name__, run)
