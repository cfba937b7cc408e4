"""Staggered DID: the hierarchical Bayesian ATT array beside its frequentist twins.

``bayesres.did.run(frame, ...)`` (also ``bayesres.did(frame, ...)``) validates the panel, fits the
Bayesian model of :mod:`bayesres.did.bayes`, aggregates the ATT draws with the Callaway-Sant'Anna
weights (:mod:`bayesres.did.aggregate`) and sets every quantity beside its twin from
:mod:`bayesres.did.freq`: Callaway-Sant'Anna (ATT, ATT_group, ATT_dynamic, ATT_calendar,
ATT_gt), TWFE with unit-clustered SE (TWFE, against the TWFE-implied functional sum w^dCDH tau),
split-sample TWFE (ATT_tier, ATT_tier_diff), BJS imputation (BJS*, against the imputation version
of the Bayesian cells), Sun-Abraham (SA, SA_dynamic, SA_gt: extra rows whose ``twin_of`` is ATT,
ATT_dynamic, ATT_gt, so the comparison table sets them beside the same posteriors). Returns an
:class:`~bayesres.results.AnalysisResult` (analysis "did").
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesres.config import HDI_PROB, SamplerSettings
from bayesres.errors import SpecError
from bayesres.results import AnalysisResult, DataInfo
from bayesres.summary import frequentist_row, summarise_draws, tidy_frame
from bayesres.validate import Panel, validate_panel

__all__ = ["DATASET_DEFAULTS", "DID_DRAWS", "ROPE_SD", "bayes_quantities", "bundled_panel", "run"]

DID_DRAWS = 1500  # default draws per chain of the Bayesian DID (see run())
ROPE_SD = 0.1  # ROPE half-width for tier contrasts, in outcome sd (methods.md section 3.7)
MPDTA_TIER = "pop_tercile"
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "ecommerce_panel": {
        "outcome": "resi",
        "unit": "city",
        "time": "year",
        "cohort": "cohort",
        "tier": "tier",
        "controls": ("agg", "open", "invest", "tec", "market"),
    },
    "mpdta": {
        "outcome": "lemp",
        "unit": "countyreal",
        "time": "year",
        "cohort": "first.treat",
        "tier": MPDTA_TIER,
        "controls": (),
    },
}


def _mpdta_terciles(frame: pd.DataFrame) -> pd.DataFrame:
    """Tiers for mpdta: population terciles of lpop (time-invariant), low / mid / high."""
    out = frame.copy()
    per_unit = out.groupby("countyreal")["lpop"].first()
    terc = pd.qcut(per_unit, 3, labels=["low", "mid", "high"]).astype(str)
    out[MPDTA_TIER] = out["countyreal"].map(terc)
    return out


def bayes_quantities(
    idata: Any, design: Any, *, rope: float | None = None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], pd.DataFrame]:
    """(cell-version quantities, imputation-version quantities, tier contrasts), in outcome units.

    Leads (pi) enter the cell version as pre-period cells, so ATT_dynamic has negative event
    times and ATT_gt has pre-period cells, as Callaway-Sant'Anna reports them.
    """
    from bayesres.did.aggregate import aggregate_draws

    post = idata["posterior"] if hasattr(idata, "children") else idata.posterior
    scale = design.y_sd
    rope = ROPE_SD * scale if rope is None else rope
    tau = np.asarray(post["tau"].values, float) * scale
    cells = design.cells
    w = _cell_twfe_weights(design)
    tiers = list(design.tiers) if design.has_tiers else None
    all_tau, all_cells = tau, cells[["cohort", "event", "tier", "n"]]
    if len(design.leads) and "pi" in post:
        pi = np.asarray(post["pi"].values, float) * scale
        lead_cells = design.leads[["cohort", "event", "n"]].assign(tier="__lead__")
        all_tau = np.concatenate([tau, pi], axis=-1)
        all_cells = pd.concat([all_cells, lead_cells], ignore_index=True)
        w = np.r_[w, np.zeros(len(lead_cells))]
    cell_q, contrasts = aggregate_draws(
        all_tau, all_cells, tiers=tiers, cell_twfe_weight=w, rope=rope
    )
    imp = np.asarray(post["tau_imp"].values, float) * scale
    imp_q, _ = aggregate_draws(imp, cells, tiers=tiers, cell_twfe_weight=None, prefix="BJS")
    keep = {k: v for k, v in imp_q.items() if k == "BJS" or k.startswith(("BJS_gt", "BJS_dyn"))}
    keep = {k: v for k, v in keep.items() if k != "BJS_dynamic"}
    keep.update({k: v for k, v in imp_q.items() if k.startswith("BJS_tier")})
    return cell_q, keep, contrasts


def _cell_twfe_weights(design: Any) -> np.ndarray:
    from bayesres.did.aggregate import dcdh_obs_weights

    obs = design.obs
    treated = (obs["cell"] < len(design.cells)).to_numpy()
    x = design.arrays.get("X")
    w = dcdh_obs_weights(obs["unit"].to_numpy(), obs["time"].to_numpy(), treated, x)
    return np.bincount(obs["cell"].to_numpy()[treated], w[treated], minlength=len(design.cells))


def _resolve(
    data: pd.DataFrame, dataset: str | None, **given: Any
) -> tuple[pd.DataFrame, dict[str, Any]]:
    defaults = DATASET_DEFAULTS.get(dataset or "", {})
    # unset (None) options take the bundled dataset's defaults; controls=() means no controls
    spec = {k: (v if v is not None else defaults.get(k, v)) for k, v in given.items()}
    frame = data
    if dataset == "mpdta" and spec.get("tier") == MPDTA_TIER and MPDTA_TIER not in data:
        frame = _mpdta_terciles(data)
    missing = [k for k in ("outcome", "unit", "time", "cohort") if not spec.get(k)]
    if missing:
        raise SpecError(
            f"missing column option(s): {', '.join(missing)}",
            hint="Pass --outcome, --unit, --time and --cohort (or use a bundled --dataset).",
        )
    spec["controls"] = tuple(spec.get("controls") or ())
    return frame, spec


def bundled_panel(dataset: str) -> tuple[Panel, list[str]]:
    """A bundled dataset validated with its DID defaults (``DATASET_DEFAULTS``), as ``run`` does;
    returns the panel and the validation warnings' messages (recorded, not shown)."""
    import warnings

    from bayesres import datasets

    if dataset not in DATASET_DEFAULTS:
        raise SpecError(
            f"no DID defaults for dataset {dataset!r}",
            hint=f"Use one of: {', '.join(DATASET_DEFAULTS)} (or pass a Panel).",
        )
    columns = dict.fromkeys(("outcome", "unit", "time", "cohort", "tier", "controls"))
    frame, spec = _resolve(datasets.load(dataset), dataset, **columns)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = validate_panel(
            frame,
            source=dataset,
            unit=spec["unit"],
            time=spec["time"],
            cohort=spec["cohort"],
            outcome=spec["outcome"],
            tier=spec.get("tier"),
            controls=spec["controls"],
        )
    return panel, [str(w.message) for w in caught]


def _frequentist(
    panel: Panel,
    *,
    control_group: str,
    leads: int,
    lags: int,
    hdi_prob: float,
    notes: list[str],
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    from bayesres.did import freq

    rows: list[pd.DataFrame] = []
    extra: dict[str, pd.DataFrame] = {}
    ctrl = panel.controls
    try:
        cs = freq.callaway_santanna(
            panel, control_group=control_group, controls=ctrl, level=hdi_prob
        )
    except Exception as exc:  # noqa: BLE001 - covariate CS can fail on small cohorts
        if not ctrl:
            raise
        notes.append(f"Callaway-Sant'Anna with controls failed ({exc}); reported without them.")
        cs = freq.callaway_santanna(panel, control_group=control_group, level=hdi_prob)
    got = {
        int(q[len("ATT_group[") : -1])
        for q in cs.aggregates["quantity"]
        if "[" in q and q.startswith("ATT_group[")
    }
    if ctrl and got != set(panel.cohorts):
        notes.append(
            "Callaway-Sant'Anna with controls estimated only cohorts "
            f"{sorted(got)} of {list(panel.cohorts)}; reported without controls instead."
        )
        cs = freq.callaway_santanna(panel, control_group=control_group, level=hdi_prob)
    rows.append(cs.table)
    rows.append(freq.twfe(panel, controls=ctrl, level=hdi_prob))
    bjs = freq.bjs_imputation(panel, controls=ctrl, level=hdi_prob)
    rows.append(bjs.table)
    try:  # SA / SA_dynamic / SA_gt, each a twin_of its ATT quantity in the comparison table
        rows.append(freq.sun_abraham(panel, controls=ctrl, level=hdi_prob))
    except Exception as exc:  # noqa: BLE001 - a missing extra twin must not stop the run
        notes.append(f"Sun-Abraham not reported ({exc}).")
    if leads >= 2:
        es = freq.event_study(panel, leads=leads, lags=lags, controls=ctrl, level=hdi_prob)
        extra["event_study_twfe"] = es
        rows.append(es.drop(columns=["event_time", "binned"], errors="ignore"))
    if panel.tier and len(panel.tiers) > 1:
        split = freq.split_twfe(panel, by=panel.tier, controls=ctrl, level=hdi_prob)
        split = split.copy()
        est = {}
        for r in split.to_dict("records"):
            k = r["quantity"][len("TWFE[") : -1]
            r = {**r, "quantity": f"ATT_tier[{k}]", "term": "ATT_tier"}
            est[k] = r
            rows.append(tidy_frame([r]))
        tiers = [k for k in panel.tiers if k in est]
        diff_rows = []
        for i in range(len(tiers)):
            for j in range(i + 1, len(tiers)):
                a, b = est[tiers[i]], est[tiers[j]]
                diff_rows.append(
                    frequentist_row(
                        f"ATT_tier_diff[{tiers[i]}-{tiers[j]}]",
                        estimate=a["estimate"] - b["estimate"],
                        std_error=float(np.hypot(a["std_error"], b["std_error"])),
                        method="TWFE-CRV1 split sample (independent subsamples)",
                        level=hdi_prob,
                    )
                )
        if diff_rows:
            rows.append(tidy_frame(diff_rows))
    return tidy_frame(pd.concat(rows, ignore_index=True)), extra


def run(
    data: pd.DataFrame,
    *,
    outcome: str | None = None,
    unit: str | None = None,
    time: str | None = None,
    cohort: str | None = None,
    tier: str | None = None,
    controls: Sequence[str] | None = None,
    control_group: str = "never",
    leads: int = 4,
    lags: int = 4,
    placebo: int = 0,
    robustness: bool = False,
    compare_leads: bool = False,
    att_prior: str = "hierarchical",
    seed: int = 0,
    draws: int | None = None,
    chains: int | None = None,
    quick: bool = False,
    hdi_prob: float | None = None,
    sampler: str | None = None,
    data_info: DataInfo | None = None,
    dataset: str | None = None,
    progress: bool = False,
    retry: bool = True,
) -> AnalysisResult:
    """Run the ``did`` analysis (CONTRACT.md) on a long panel; returns an AnalysisResult.

    Bundled-dataset defaults fill unset column options (``ecommerce_panel``: resi by city and
    year, cohort, tier, five controls; ``mpdta``: lemp by countyreal and year, first.treat, tiers
    = population terciles of lpop); ``controls=None`` takes the dataset's controls, ``()`` none.
    The Bayesian model includes leads pi for e = -leads..-2. ``robustness=True`` adds paper 003's
    Tables 4-7 TWFE set and an in-time placebo as ``tables["robustness"]``; ``compare_leads=True``
    fits the no-leads model too and adds their leave-one-unit-out LOO as ``tables["loo"]``.
    ``retry=False``: one attempt at the starting target_accept (0.95), no divergence ladder.
    """
    from bayesres.did.bayes import fit_did

    prob = HDI_PROB if hdi_prob is None else hdi_prob
    frame, spec = _resolve(
        data,
        dataset,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        tier=tier,
        controls=None if controls is None else tuple(controls),
    )
    source = dataset or str(data.attrs.get("dataset", "DataFrame"))
    panel = validate_panel(
        frame,
        source=source,
        unit=spec["unit"],
        time=spec["time"],
        cohort=spec["cohort"],
        outcome=spec["outcome"],
        tier=spec.get("tier"),
        controls=spec["controls"],
    )
    # target_accept starts at 0.95: at 0.9 every ecommerce / mpdta fit diverged and was redone;
    # 1,500 draws per chain: at 1,000 one ecommerce seed in five missed R-hat < 1.01 on a cell
    settings = SamplerSettings.make(
        draws=draws if draws is not None or quick else DID_DRAWS,
        chains=chains,
        seed=seed,
        quick=quick,
        sampler=sampler,
        progress=progress,
        target_accept=0.95,
    )
    notes: list[str] = []
    t0 = _time.perf_counter()
    last: dict[str, Any] = {}

    def gated(idata: Any, d: Any) -> dict[str, np.ndarray]:
        # the gates check the aggregated ATTs; keep them for the summaries below
        last["idata"], last["q"] = idata, bayes_quantities(idata, d)
        return last["q"][0]

    fitres, design = fit_did(
        panel,
        settings=settings,
        att_prior=att_prior,
        leads=leads,
        derived=gated,
        retry=retry,
        reuse=True,
        extend=retry and not quick,  # a smoke run is short on purpose
    )
    wall = _time.perf_counter() - t0
    if fitres.report.extended:
        notes.append(
            f"R-hat / ESS missed with {settings.draws} draws per chain (no divergences): "
            f"the chains were run on to {2 * settings.draws}."
        )
    if "idata" not in last:  # gated() not called: an identical fit earlier in this process
        notes.append(
            "Bayesian fit reused: the same panel, model, sampler settings and seed were fitted "
            "earlier in this process (only the frequentist twins differ in this run)."
        )
    if last.get("idata") is fitres.idata:
        cell_q, imp_q, contrasts = last["q"]
    else:
        cell_q, imp_q, contrasts = bayes_quantities(fitres.idata, design)
    method = f"Bayes hierarchical DID ({att_prior})"
    estimates = pd.concat(
        [
            summarise_draws(cell_q, method=method, hdi_prob=prob),
            summarise_draws(imp_q, method=f"{method}, imputation version", hdi_prob=prob),
        ],
        ignore_index=True,
    )
    frequentist, freq_tables = _frequentist(
        panel, control_group=control_group, leads=leads, lags=lags, hdi_prob=prob, notes=notes
    )
    tables = {
        "cells": _cell_table(fitres.idata, design, prob),
        "event_study": _event_table(cell_q, frequentist, prob),
        **freq_tables,
    }
    if len(contrasts):
        tables["tier_contrasts"] = contrasts
    extra: dict[str, Any] = {}
    placebo_result = None
    if placebo and placebo > 0:
        from bayesres.did.placebo import placebo as run_placebo

        placebo_result = run_placebo(panel, draws=int(placebo), seed=seed, controls=panel.controls)
        tables["placebo"] = pd.DataFrame(
            {"draw": np.arange(placebo), "estimate": placebo_result.estimates}
        )
        extra["placebo"] = {
            "draws": int(placebo),
            "p_value": placebo_result.p_value,
            "estimates_file": "tables/placebo.csv",
            "actual": placebo_result.actual,
        }
    if compare_leads and leads >= 2 and len(design.leads):
        from bayesres.did.compare import loo_table

        # the no-leads twin: same settings, its own compile (another structure)
        nolead, nolead_design = fit_did(
            panel, settings=settings, att_prior=att_prior, leads=0, retry=retry
        )
        tables["loo"] = loo_table(
            {"leads": (fitres.idata, design), "no_leads": (nolead.idata, nolead_design)}
        )
        k = tables["loo"].set_index("model")["pareto_k_max"]
        fitres.report.add_pareto_k(float(k["leads"]))
        if not nolead.report.passed:
            notes.append("The no-leads model of the LOO comparison failed its gates.")
        notes.append(
            "LOO (leave-one-unit-out) compares predictive fit of the leads and no-leads models, "
            "not the parallel-trends assumption, which LOO cannot test."
        )
    if robustness:
        from bayesres.did.robustness import robustness_set

        published = None
        if dataset == "ecommerce_panel":
            from bayesres.published import _read

            published = _read("seed003_regressions.csv")
        tables["robustness"] = robustness_set(panel, published=published)
    if fitres.report.divergences or not fitres.report.passed:
        notes.append("The Bayesian fit did not pass every diagnostic gate: see diagnostics.")
    if design.covariates != panel.controls:
        dropped = sorted(set(panel.controls) - set(design.covariates))
        notes.append(f"Time-invariant controls absorbed by the unit effects: {', '.join(dropped)}.")
    settings_json = {
        "seed": seed,
        "draws": settings.draws,
        "tune": settings.tune,
        "chains": settings.chains,
        "sampler": settings.sampler,
        "target_accept": fitres.target_accept,
        "retry": retry,
        "att_prior": att_prior,
        "outcome": spec["outcome"],
        "unit": spec["unit"],
        "time": spec["time"],
        "cohort": spec["cohort"],
        "tier": spec.get("tier"),
        "controls": list(spec["controls"]),
        "control_group": control_group,
        "leads": leads,
        "lags": lags,
        "placebo": placebo,
        "robustness": robustness,
        "compare_leads": compare_leads,
        "rope": ROPE_SD * design.y_sd,
        "seconds": {k: round(v, 2) for k, v in fitres.seconds.items()}
        | {"fit_wall": round(wall, 2)},
    }
    info = data_info or DataInfo(
        source=source,
        sha256=None,
        n_rows=len(frame),
        synthetic=bool(data.attrs.get("synthetic", False)),
    )
    result = AnalysisResult(
        analysis="did",
        data=info,
        settings=settings_json,
        estimates=estimates,
        frequentist=frequentist,
        idata=fitres.idata,
        diagnostics=fitres.report,
        tables=tables,
        extra=extra,
        notes=notes,
        hdi_prob=prob,
    )
    from bayesres.did import plots

    result.figures = plots.figures(result, design=design, placebo=placebo_result)
    result.figures.update(_predictive_figures(fitres.idata, design, seed=seed, notes=notes))
    return result


def _predictive_figures(idata: Any, design: Any, *, seed: int, notes: list[str]) -> dict:
    """Prior and posterior predictive checks of the standardised outcome y* (methods.md 3.8):
    the prior by forward sampling the model rebuilt from the design, the posterior in numpy
    from the draws (not for the AR(1) option, whose likelihood is conditional)."""
    from bayesres import checks
    from bayesres.did.bayes import model_from_design
    from bayesres.did.compare import posterior_predictive

    y = design.arrays["y_std"]
    label = "outcome, standardised (y - mean) / sd"
    prior = checks.prior_predictive_draws(model_from_design(design), seed=seed)
    out = {"prior_predictive": lambda: checks.overlay_figure(y, prior, kind="prior", xlabel=label)}
    if design.option("ar1"):
        notes.append("No posterior predictive figure for the AR(1) likelihood (conditional).")
        return out
    post = posterior_predictive(idata, design, seed=seed)
    out["posterior_predictive"] = lambda: checks.overlay_figure(
        y, post, kind="posterior", xlabel=label
    )
    return out


def _cell_table(idata: Any, design: Any, prob: float) -> pd.DataFrame:
    from arviz_stats.base import array_stats

    post = idata["posterior"]
    rows = []
    for name in ("tau", "tau_imp"):
        x = np.asarray(post[name].values, float) * design.y_sd
        flat = x.reshape(-1, x.shape[-1])
        for j, c in enumerate(design.cells.to_dict("records")):
            lo, hi = array_stats.hdi(flat[:, j], prob=prob)
            rows.append(
                {
                    "version": "cell" if name == "tau" else "imputation",
                    "cohort": c["cohort"],
                    "event": c["event"],
                    "time": c["time"],
                    "tier": c["tier"],
                    "n_units": c["n"],
                    "mean": float(flat[:, j].mean()),
                    "sd": float(flat[:, j].std(ddof=1)),
                    "hdi_low": float(lo),
                    "hdi_high": float(hi),
                }
            )
    return pd.DataFrame(rows)


def _event_table(cell_q: dict, frequentist: pd.DataFrame, prob: float) -> pd.DataFrame:
    from bayesres.did.aggregate import simultaneous_band
    from bayesres.summary import draws_2d

    names = [k for k in cell_q if k.startswith("ATT_dynamic[")]
    events = [int(k[len("ATT_dynamic[") : -1]) for k in names]
    order = np.argsort(events)
    names, events = [names[i] for i in order], [events[i] for i in order]
    mat = np.column_stack([draws_2d(cell_q[k]).reshape(-1) for k in names])
    lo_s, hi_s, crit = simultaneous_band(mat, prob=prob)
    lo_p, hi_p = np.quantile(mat, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    f = frequentist.set_index("quantity") if len(frequentist) else pd.DataFrame()
    out = pd.DataFrame(
        {
            "event": events,
            "mean": mat.mean(axis=0),
            "sd": mat.std(axis=0, ddof=1),
            "eti_low": lo_p,
            "eti_high": hi_p,
            "band_low": lo_s,
            "band_high": hi_s,
            "band_crit": crit,
        }
    )
    for col, prefix in (
        ("cs", "ATT_dynamic"),
        ("twfe_es", "ES"),
        ("sa", "SA_dynamic"),
        ("bjs", "BJS_dynamic"),
    ):
        est = [f["estimate"].get(f"{prefix}[{e}]", np.nan) if len(f) else np.nan for e in events]
        se = [f["std_error"].get(f"{prefix}[{e}]", np.nan) if len(f) else np.nan for e in events]
        out[f"{col}_estimate"], out[f"{col}_se"] = est, se
    return out


from bayesres._callable import make_callable  # noqa: E402

make_callable(__name__, run)
