"""Export-ratio regression (paper 001): OLS twins and Bayesian tier models, side by side.

``run(frame, ...)`` = validate → build the outcome → frequentist twins (freq.py) → Bayesian pooled /
no-pool / hierarchical fits (bayes.py) → contrasts, LOO, prior sensitivity → robustness outcomes
(growth rate; months to recovery as a censored survival model, survival.py) → index uncertainty
(propagate.py) → one ``AnalysisResult`` (analysis = "regression").

Quantities (CONTRACT.md): ``intercept``, ``slope``, ``coef[<control>]``, ``sigma`` from the pooled
model (twin: OLS-HC1, the paper's Table 2) and ``slope[<tier>]``, ``slope_diff[<tier>-<ref>]``
from the hierarchical model (twin: the Table 4 slope-dummy model, HC1).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesres.config import HDI_PROB, PARETO_K_MAX, SamplerSettings
from bayesres.diagnostics import GateReport
from bayesres.errors import SpecError
from bayesres.regression import bayes, freq
from bayesres.regression import outcome as outcome_mod
from bayesres.results import AnalysisResult, DataInfo
from bayesres.summary import tidy_frame
from bayesres.validate import CrossSection, validate_cross_section

__all__ = ["run", "DATASET_DEFAULTS"]

DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "customs38": {
        "exports_prefix": "exports_",
        "predictor": "resilience_index",
        "controls": ("nonag_density",),
        "tier": "tier",
        "log": True,
        "reference_tier": "other",
        "unit": "city",
        "monthly": "customs38_monthly",
    }
}
INDEX_COLUMN = "resilience_index"


def _index_from_indicators(frame: pd.DataFrame, dataset: str) -> tuple[np.ndarray, Any, Any]:
    from bayesres import datasets
    from bayesres.index.entropy import entropy_weights
    from bayesres.validate import IndicatorSpec

    spec = IndicatorSpec.from_frame(datasets.indicators(dataset), source=dataset)
    res = entropy_weights(frame[list(spec.indicators)].to_numpy(float), np.array(spec.directions))
    return res.scores, res, spec


def _merge_reports(reports: Sequence[GateReport]) -> GateReport:
    rep = GateReport()
    rep.r_hat_max = max((r.r_hat_max for r in reports), default=math.nan)
    rep.ess_bulk_min = min((r.ess_bulk_min for r in reports), default=math.nan)
    rep.ess_tail_min = min((r.ess_tail_min for r in reports), default=math.nan)
    rep.divergences = sum(r.divergences for r in reports)
    rep.bfmi_min = min((r.bfmi_min for r in reports), default=math.nan)
    ks = [r.pareto_k_max for r in reports if r.pareto_k_max is not None]
    rep.pareto_k_max = max(ks) if ks else None
    rep.messages = [m for r in reports for m in r.messages]
    rep.passed = all(r.passed for r in reports)
    return rep


def _dimension_table(frame: pd.DataFrame, cs: CrossSection, res: Any, spec: Any) -> pd.DataFrame:
    """The four dimension regressions (sub-indices with the global weights; Tables 5-8)."""
    dims = res.dimension_scores(spec.dimension_index, len(spec.dimension_levels))
    rows = []
    for j, name in enumerate(spec.dimension_levels):
        x = np.log(dims[:, j]) if cs.log else dims[:, j]
        d = freq.design(cs, kind="pooled", x=x)
        r = freq.ols(cs.y, d, cov_type="HC1")
        for k, col in enumerate(d.columns):
            rows.append(
                {
                    "dimension": name,
                    "term": col,
                    "estimate": float(r.params[k]),
                    "se_HC1": float(r.bse[k]),
                    "t_HC1": float(r.tvalues[k]),
                    "p_value": float(r.pvalues[k]),
                    "r2": float(r.rsquared),
                    "n": cs.n,
                }
            )
    return pd.DataFrame(rows)


def _ppc_draws(idata: Any, data: bayes.TierData, seed: int, n: int = 100) -> np.ndarray:
    mu = bayes.linear_predictor(idata, data).reshape(-1, data.n)
    sigma = np.asarray(idata["posterior"]["sigma"].values, float).reshape(-1)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(sigma), size=min(n, len(sigma)), replace=False)
    if "nu" in idata["posterior"]:
        nu = np.asarray(idata["posterior"]["nu"].values, float).reshape(-1)[pick]
        eps = rng.standard_t(nu[:, None], size=(len(pick), data.n))
    else:
        eps = rng.standard_normal((len(pick), data.n))
    return mu[pick] + sigma[pick, None] * eps


def run(
    data: pd.DataFrame,
    *,
    outcome: str | None = None,
    exports_prefix: str | None = None,
    predictor: str | None = None,
    controls: Sequence[str] = (),
    tier: str | None = None,
    likelihood: str = "normal",
    log: bool = False,
    reference_tier: str | None = None,
    index_draws: str | Path | pd.DataFrame | None = None,
    seed: int = 0,
    draws: int | None = None,
    chains: int | None = None,
    quick: bool = False,
    hdi_prob: float = HDI_PROB,
    sampler: str = "nutpie",
    data_info: DataInfo | None = None,
    dataset: str | None = None,
    progress: bool = False,
    unit: str | None = None,
    growth: str = "cagr",
    monthly: pd.DataFrame | None = None,
    recovery_run: int = outcome_mod.RECOVERY_RUN,
    rope: float = bayes.ROPE,
    priors: bayes.Priors | None = None,
    refit_draws: int = 250,
    log_outcome: bool | None = None,
    retry: bool = True,
    centre: str = bayes.DEFAULT_CENTRE,
) -> AnalysisResult:
    """Export-ratio regression with both twins; see the module docstring.

    ``retry=False``: every fit gets one attempt at the starting target_accept, no divergence
    ladder (the refits for growth, prior sensitivity, recovery and index draws too).
    ``centre``: "tier" (default) or "global" centring of x in the no-pool and hierarchical
    models (``regression.bayes``); the pooled model centres globally either way.
    """
    bayes.check_centre(centre)
    priors = priors if priors is not None else bayes.Priors()
    frame = data.copy()
    dataset = dataset or frame.attrs.get("dataset")
    notes: list[str] = []
    defaults = DATASET_DEFAULTS.get(dataset or "", {})
    if defaults and outcome is None and exports_prefix is None:
        exports_prefix = defaults["exports_prefix"]
        predictor = predictor or defaults["predictor"]
        controls = tuple(controls) or defaults["controls"]
        tier = tier or defaults["tier"]
        log = True
        reference_tier = reference_tier or defaults["reference_tier"]
        unit = unit or defaults["unit"]
        if monthly is None:
            from bayesres import datasets

            monthly = datasets.load(defaults["monthly"])
        notes.append(f"{dataset} defaults: ln(exports ratio) on ln(index) + ln(density), tiers.")
    if unit is None:
        unit = next((c for c in ("city", "unit") if c in frame.columns), None)
    if outcome is None and exports_prefix is None:
        raise SpecError("no outcome", hint="Pass --outcome COL or --exports-prefix PREFIX.")
    if predictor is None:
        raise SpecError("no predictor", hint="Pass --predictor COL (the resilience index).")
    index_res = None
    if predictor not in frame.columns and predictor == INDEX_COLUMN and dataset:
        frame[INDEX_COLUMN], index_res, index_spec = _index_from_indicators(frame, dataset)
        notes.append("resilience_index = exact entropy index on the dataset's indicators.")
    growth_y = None
    if exports_prefix is not None:
        frame["export_ratio"] = outcome_mod.export_ratio(
            frame, prefix=exports_prefix, growth=growth
        )
        growth_y = outcome_mod.growth_rate(frame, prefix=exports_prefix).to_numpy()
        outcome = "export_ratio"
    source = dataset or frame.attrs.get("source", "data")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cs = validate_cross_section(
            frame,
            source=source,
            outcome=outcome,
            predictor=predictor,
            controls=tuple(controls),
            unit=unit,
            tier=tier,
            log=log,
            reference_tier=reference_tier,
            log_outcome=log_outcome,
        )
    notes += [str(w.message) for w in caught]
    has_tiers = bool(cs.tier and len(cs.tiers) > 1)
    settings = SamplerSettings.make(
        draws=draws, chains=chains, seed=seed, quick=quick, sampler=sampler, progress=progress
    )
    tables: dict[str, pd.DataFrame] = {}
    # ---------------------------------------------------------------- frequentist twins
    frequentist = freq.frequentist_twin(cs, level=hdi_prob)
    boot = 0 if quick else 999
    tables["ols_small_sample_pooled"] = freq.robust_table(
        cs, kind="pooled", boot_draws=boot, level=hdi_prob, seed=seed
    )
    if has_tiers:
        tables["ols_small_sample_table4"] = freq.robust_table(
            cs, kind="slope_dummies", boot_draws=boot, level=hdi_prob, seed=seed
        )
        tables["ols_table4_slope_dummies"] = freq.tier_table(
            cs, kind="slope_dummies", level=hdi_prob
        )
        tables["ols_tier_intercepts"] = freq.tier_table(cs, kind="tier_intercepts", level=hdi_prob)
    if index_res is not None:
        tables["ols_dimensions"] = _dimension_table(frame, cs, index_res, index_spec)
    # ---------------------------------------------------------------- Bayesian fits
    tdata = bayes.prepare(cs, centre=centre)
    variants = ["pooled"] + (["hierarchical"] if has_tiers else [])
    if has_tiers and not quick:
        variants.insert(1, "nopool")
    fits: dict[str, tuple[Any, Any]] = {}
    for v in variants:
        fits[v] = bayes.fit_variant(
            tdata,
            variant=v,
            likelihood=likelihood,
            settings=settings,
            priors=priors,
            retry=retry,
            extend=retry and not quick,  # a smoke run is short on purpose
        )

    other = "student" if likelihood == "normal" else "normal"
    if has_tiers and not quick:
        fits[f"hierarchical_{other}"] = bayes.fit_variant(
            tdata,
            variant="hierarchical",
            likelihood=other,
            settings=settings,
            priors=priors,
            retry=retry,
            extend=retry,  # gated with the others (not under quick: this branch is full-run only)
        )
    for v, (_, r) in fits.items():
        if r.report.extended:
            notes.append(
                f"{v}: R-hat / ESS missed with {settings.draws} draws per chain (no "
                f"divergences): the chains were run on to {2 * settings.draws}."
            )
    raws = {k: bayes.raw_draws(r.idata, tdata) for k, (_, r) in fits.items()}
    label = f"Bayes {{}} ({likelihood})"
    parts = [
        bayes.tidy_bayes(
            raws["pooled"],
            label=label.format("pooled"),
            hdi_prob=hdi_prob,
            keep=("intercept", "slope", "coef[", "sigma", "nu"),
        )
    ]
    main = "hierarchical" if has_tiers else "pooled"
    if has_tiers:
        hier = bayes.summarise(
            raws["hierarchical"], label=label.format("hierarchical"), hdi_prob=hdi_prob
        )
        hier = hier[
            hier["quantity"].str.startswith(
                ("slope[", "slope_diff[", "slope_mean", "tau_", "intercept[")
            )
        ]
        parts.append(hier)
        tables["contrasts"] = bayes.contrast_table(
            raws["hierarchical"], rope=rope, hdi_prob=hdi_prob
        )
        for k in raws:
            if k != "hierarchical" and k != "pooled":
                t = bayes.summarise(
                    raws[k],
                    label=label.format(k) if k == "nopool" else f"Bayes hierarchical ({other})",
                    hdi_prob=hdi_prob,
                )
                tables[f"bayes_{k}"] = t
    estimates = tidy_frame(pd.concat(parts, ignore_index=True))

    def refit(name: str, data: bayes.TierData) -> Any:
        """The variant ``name`` refitted on ``data`` (exact LOO), through its compiled model."""
        variant = "hierarchical" if name.startswith("hierarchical") else name
        lik = other if name == f"hierarchical_{other}" else likelihood
        return bayes.fit_variant(
            data,
            variant=variant,
            likelihood=lik,
            settings=settings,
            priors=priors,
            model=fits[name][0],
            swap=True,
            retry=retry,
        )[1]

    loo_table, kmax = bayes.loo_compare({k: (tdata, r) for k, (_, r) in fits.items()}, refit=refit)
    refits = loo_table.loc[loo_table["exact_refit_obs"].astype(bool), ["model", "exact_refit_obs"]]
    for name, rows in refits.itertuples(index=False):
        units = ", ".join(str(cs.units[int(i)]) for i in rows.split())
        notes.append(
            f"LOO {name}: Pareto k >= {PARETO_K_MAX} for {units}; their leave-one-out densities "
            "come from exact refits without them (PSIS k-hat kept in tables/loo.csv)."
        )
    tables["loo"] = loo_table
    # Pareto k gates the reported (main) model; the other variants' k-hat sit in tables/loo.csv
    main_fit = fits["hierarchical" if has_tiers else "pooled"][1]
    main_fit.report.add_pareto_k(kmax.get("hierarchical" if has_tiers else "pooled"))
    if has_tiers:
        tables["prior_sensitivity"] = bayes.prior_sensitivity(
            tdata,
            model=fits["hierarchical"][0],
            likelihood=likelihood,
            settings=settings,
            priors=priors,
            retry=retry,
            fitted=fits["hierarchical"][1],
        )
    # ---------------------------------------------------------------- robustness: growth rate
    if growth_y is not None:
        gdata = bayes.prepare(cs, y=growth_y, centre=centre)
        g_rows = [freq.pooled_table(cs, y=growth_y, level=hdi_prob)]
        g_bayes = []
        for v in variants:
            if v == "nopool":
                continue
            _, r = bayes.fit_variant(
                gdata,
                variant=v,
                likelihood=likelihood,
                settings=settings,
                priors=priors,
                model=fits[v][0],
                swap=True,
                retry=retry,
            )
            g_bayes.append(
                bayes.summarise(
                    bayes.raw_draws(r.idata, gdata),
                    label=label.format(v) + " growth",
                    hdi_prob=hdi_prob,
                )
            )
        if has_tiers:
            g_rows.append(freq.tier_table(cs, y=growth_y, level=hdi_prob))
        tables["growth_frequentist"] = tidy_frame(pd.concat(g_rows, ignore_index=True))
        tables["growth_bayesian"] = tidy_frame(pd.concat(g_bayes, ignore_index=True))
    # ---------------------------------------------------------------- robustness: recovery
    if monthly is not None and unit is not None:
        from bayesres.regression import survival

        rec = outcome_mod.months_to_recovery(monthly, k=recovery_run, unit=unit)
        order = pd.DataFrame({unit: cs.units}).merge(rec, on=unit, how="left")
        ok = order["at_risk"].notna().to_numpy() & (order["start"] != "").to_numpy()
        tables["months_to_recovery"] = order
        sub = order[ok].reset_index(drop=True)
        x_all, z_all = cs.x[ok], cs.z[ok]
        unc = ~sub["censored"].to_numpy(bool)
        dm = np.column_stack([np.ones(unc.sum()), x_all[unc], z_all[unc]])
        import statsmodels.api as sm

        o = sm.OLS(sub.loc[unc, "months"].to_numpy(float), dm).fit(cov_type="HC1")
        from bayesres.summary import frequentist_row

        ols37 = [
            frequentist_row(
                f"months_ols[{n}]",
                estimate=float(o.params[i]),
                std_error=float(o.bse[i]),
                df=float(o.df_resid),
                level=hdi_prob,
                method=f"OLS-HC1, n = {int(unc.sum())} (censored dropped, as the paper)",
            )
            for i, n in enumerate(["intercept", "slope", *cs.controls])
        ]
        sd = survival.person_period(
            sub,
            x=x_all,
            c=z_all,
            units=sub[unit].tolist(),
            tiers=(cs.frame[cs.tier].to_numpy()[ok] if cs.tier else np.array(["all"] * ok.sum())),
        )
        sv = survival.fit_survival(
            sd, settings=settings, months_ols=tidy_frame(ols37), hdi_prob=hdi_prob, retry=retry
        )
        tables["recovery_bayesian"] = sv["estimates"]
        tables["recovery_frequentist"] = sv["frequentist"]
        tables["recovery_censored"] = sv["censored"]
        tables["recovery_by_tier"] = sv["tiers"]
        fits["survival"] = (None, sv["fit"])
    # ---------------------------------------------------------------- index uncertainty
    extra: dict[str, Any] = {}
    if index_draws is not None:
        from bayesres.regression import propagate

        idx = propagate.read_index_draws(index_draws, units=cs.units)
        rs = SamplerSettings.make(draws=refit_draws, tune=300, chains=2, seed=seed, sampler=sampler)
        pr = propagate.refit_over_draws(
            cs,
            idx,
            model=fits[main][0],
            likelihood=likelihood,
            variant=main,
            settings=rs,
            plugin=raws[main],
            hdi_prob=hdi_prob,
            retry=retry,
            centre=centre,
        )
        tables["index_draws_bayesian"] = pr["estimates"]
        tables["index_draws_rubin"] = pr["rubin"]
        tables["index_draws_sd_inflation"] = pr["inflation"]
        extra["index_draws"] = {
            "m": pr["m"],
            "seconds": pr["seconds"],
            "divergences": pr["divergences"],
        }
    # ---------------------------------------------------------------- figures
    from bayesres.regression import plots

    figures: dict[str, Any] = {}
    main_idata = fits[main][1].idata
    y_rep = _ppc_draws(main_idata, tdata, seed)
    figures["ppc"] = lambda: plots.ppc(tdata.y, y_rep)
    from bayesres import checks

    prior_rep = checks.prior_predictive_draws(
        bayes.build_model(tdata, variant=main, likelihood=likelihood, priors=priors), seed=seed
    )
    figures["prior_predictive"] = lambda: checks.overlay_figure(
        tdata.y, prior_rep, kind="prior", xlabel="outcome"
    )
    if has_tiers:
        hier_t = estimates[estimates["method"].str.contains("hierarchical")]
        freq_t = frequentist[frequentist["quantity"].str.startswith("slope[")]
        fi = tables["ols_tier_intercepts"]
        forest_in = {
            "posterior (hierarchical)": hier_t,
            "OLS Table 4 (HC1)": freq_t,
            "OLS tier intercepts (HC1)": fi,
        }
        figures["forest_tier_slopes"] = lambda: plots.forest_tier_slopes(forest_in)
        if "nopool" in raws:
            np_t = tables["bayes_nopool"]
            pooled_slope = float(raws["pooled"]["slope"].mean())
            figures["shrinkage"] = lambda: plots.shrinkage(np_t, hier_t, pooled_slope)
    report = _merge_reports([r.report for _, r in fits.values()])
    info = data_info or DataInfo(
        source=source,
        sha256=None,
        n_rows=len(frame),
        synthetic=bool(frame.attrs.get("synthetic", False)),
    )
    return AnalysisResult(
        analysis="regression",
        data=info,
        settings={
            "seed": seed,
            "draws": settings.draws,
            "tune": settings.tune,
            "chains": settings.chains,
            "sampler": settings.sampler,
            "retry": retry,
            "likelihood": likelihood,
            "centre": centre,
            "log": log,
            "outcome": outcome,
            "predictor": predictor,
            "controls": list(cs.controls),
            "tier": tier,
            "tiers": list(cs.tiers),
            "reference_tier": cs.tiers[-1] if has_tiers else None,
            "growth": growth,
            "variants": list(fits),
            "priors": priors.__dict__,
            "rope": rope,
            "recovery_run": recovery_run,
            "quick": quick,
        },
        estimates=estimates,
        frequentist=frequentist,
        idata=main_idata,
        diagnostics=report,
        tables=tables,
        figures=figures,
        extra=extra,
        notes=notes,
        hdi_prob=hdi_prob,
    )


from bayesres._callable import make_callable  # noqa: E402

make_callable(__name__, run)
