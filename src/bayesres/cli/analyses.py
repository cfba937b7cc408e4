"""``bayesres index | regress | did | run`` — thin wrappers over the Python API."""

from __future__ import annotations

from pathlib import Path

import typer

from bayesres.cli import app
from bayesres.cli.common import (
    ChainsOpt,
    DataOpt,
    DatasetOpt,
    DrawsOpt,
    HdiOpt,
    NoRetryOpt,
    OutOpt,
    QuickOpt,
    SamplerOpt,
    SeedOpt,
    StrictOpt,
    finish,
    load_input,
)


@app.command("index")
def index_cmd(
    data: Path | None = DataOpt,
    dataset: str | None = DatasetOpt,
    out: Path = OutOpt,
    unit: str | None = typer.Option(
        None, "--unit", help="Unit (city) column; default from the bundled datasheet."
    ),
    indicators: Path | None = typer.Option(
        None, "--indicators", help="Indicator spec (CSV or TOML: indicator, dimension, direction)."
    ),
    time: str | None = typer.Option(None, "--time", help="Time column (panel data)."),
    panel: str = typer.Option("pooled", "--panel", help="pooled | per-year"),
    tier: str | None = typer.Option(
        None, "--tier", help="Tier column for tier summaries / pooling."
    ),
    method: str = typer.Option(
        "bootstrap", "--method", help="entropy | bootstrap | factor | dirichlet"
    ),
    shift: float = typer.Option(
        1e-4, "--shift", help="Shift delta added after min-max normalisation."
    ),
    save_draws: int = typer.Option(
        100, "--save-draws", help="Index draws saved for the regression (0 = none)."
    ),
    seed: int = SeedOpt,
    draws: int | None = DrawsOpt,
    chains: int | None = ChainsOpt,
    quick: bool = QuickOpt,
    strict: bool = StrictOpt,
    hdi_prob: float = HdiOpt,
    sampler: str = SamplerOpt,
) -> None:
    """Entropy-weighted index with uncertainty for weights, scores and ranks."""
    from bayesres import index as index_api

    inp = load_input(data, dataset)
    result = index_api.run(
        inp.frame,
        unit=unit,
        indicators=indicators,
        time=time,
        panel=panel,
        tier=tier,
        method=method,
        shift=shift,
        save_draws=save_draws,
        seed=seed,
        draws=draws,
        chains=chains,
        quick=quick,
        hdi_prob=hdi_prob,
        sampler=sampler,
        data_info=inp.data_info(),
        dataset=inp.dataset,
        progress=True,
    )
    finish(result, out=out, strict=strict)


@app.command("regress")
def regress_cmd(
    data: Path | None = DataOpt,
    dataset: str | None = DatasetOpt,
    out: Path = OutOpt,
    outcome: str | None = typer.Option(None, "--outcome", help="Outcome column."),
    exports_prefix: str | None = typer.Option(
        None,
        "--exports-prefix",
        help="Build ln(actual/forecast) exports from yearly columns PREFIX<year>.",
    ),
    predictor: str | None = typer.Option(
        None, "--predictor", help="Predictor column (the resilience index)."
    ),
    control: list[str] = typer.Option([], "--control", help="Control column (repeatable)."),
    tier: str | None = typer.Option(None, "--tier", help="Tier column."),
    likelihood: str = typer.Option("normal", "--likelihood", help="normal | student"),
    log: bool = typer.Option(
        False, "--log", help="Take logs of predictor / controls (and outcome) as the paper does."
    ),
    log_outcome: bool | None = typer.Option(
        None,
        "--log-outcome/--no-log-outcome",
        help="Override --log for the outcome (rates and month counts stay in levels).",
    ),
    reference_tier: str | None = typer.Option(
        None, "--reference-tier", help="Tier the contrasts are taken against."
    ),
    index_draws: Path | None = typer.Option(
        None,
        "--index-draws",
        help="index_draws.csv from 'bayesres index' to carry index uncertainty.",
    ),
    centre: str = typer.Option(
        "tier",
        "--centre",
        help="tier | global: centre x within tiers (default) or at the overall mean in the "
        "no-pool and hierarchical models; the pooled model centres globally.",
    ),
    seed: int = SeedOpt,
    draws: int | None = DrawsOpt,
    chains: int | None = ChainsOpt,
    quick: bool = QuickOpt,
    strict: bool = StrictOpt,
    hdi_prob: float = HdiOpt,
    sampler: str = SamplerOpt,
    no_retry: bool = NoRetryOpt,
) -> None:
    """Export-ratio regression: OLS twins and hierarchical tier models."""
    from bayesres import regression as regression_api

    inp = load_input(data, dataset)
    result = regression_api.run(
        inp.frame,
        outcome=outcome,
        exports_prefix=exports_prefix,
        predictor=predictor,
        controls=tuple(control),
        tier=tier,
        likelihood=likelihood,
        log=log,
        log_outcome=log_outcome,
        reference_tier=reference_tier,
        index_draws=index_draws,
        centre=centre,
        seed=seed,
        draws=draws,
        chains=chains,
        quick=quick,
        hdi_prob=hdi_prob,
        sampler=sampler,
        data_info=inp.data_info(),
        dataset=inp.dataset,
        progress=True,
        retry=not no_retry,
    )
    finish(result, out=out, strict=strict)


@app.command("did")
def did_cmd(
    data: Path | None = DataOpt,
    dataset: str | None = DatasetOpt,
    out: Path = OutOpt,
    outcome: str | None = typer.Option(None, "--outcome", help="Outcome column."),
    unit: str | None = typer.Option(None, "--unit", help="Unit column."),
    time: str | None = typer.Option(None, "--time", help="Time column."),
    cohort: str | None = typer.Option(
        None, "--cohort", help="First treated period (0 or empty = never treated)."
    ),
    tier: str | None = typer.Option(None, "--tier", help="Tier column (grouping level)."),
    control: list[str] = typer.Option([], "--control", help="Control column (repeatable)."),
    control_group: str = typer.Option("never", "--control-group", help="never | notyet"),
    leads: int = typer.Option(4, "--leads", help="Event-study leads."),
    lags: int = typer.Option(4, "--lags", help="Event-study lags."),
    placebo: int = typer.Option(
        0, "--placebo", help="Random staggered reassignments for the placebo test."
    ),
    robustness: bool = typer.Option(
        False,
        "--robustness",
        help="Add paper 003's Tables 4-7 TWFE robustness set and an in-time placebo.",
    ),
    compare_leads: bool = typer.Option(
        False,
        "--compare-leads",
        help="Also fit the no-leads model; leave-one-unit-out LOO of leads vs no leads.",
    ),
    att_prior: str = typer.Option(
        "hierarchical", "--att-prior", help="hierarchical | independent | t_shrink"
    ),
    seed: int = SeedOpt,
    draws: int | None = DrawsOpt,
    chains: int | None = ChainsOpt,
    quick: bool = QuickOpt,
    strict: bool = StrictOpt,
    hdi_prob: float = HdiOpt,
    sampler: str = SamplerOpt,
    no_retry: bool = NoRetryOpt,
) -> None:
    """Staggered DID: TWFE / event study / Callaway-Sant'Anna twins and a hierarchical Bayesian ATT array."""
    from bayesres import did as did_api

    inp = load_input(data, dataset)
    result = did_api.run(
        inp.frame,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        tier=tier,
        controls=tuple(control) or None,  # none given: the dataset's controls
        control_group=control_group,
        leads=leads,
        lags=lags,
        placebo=placebo,
        robustness=robustness,
        compare_leads=compare_leads,
        att_prior=att_prior,
        seed=seed,
        draws=draws,
        chains=chains,
        quick=quick,
        hdi_prob=hdi_prob,
        sampler=sampler,
        data_info=inp.data_info(),
        dataset=inp.dataset,
        progress=True,
        retry=not no_retry,
    )
    finish(result, out=out, strict=strict)
