"""``bayesres calibrate sbc | coverage | sensitivity`` (CONTRACT.md: Calibration commands)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from bayesres.cli import app

calibrate_app = typer.Typer(
    help="Calibration studies: SBC and fixed-parameter coverage (on Dask), prior sensitivity.",
    no_args_is_help=True,
)
app.add_typer(calibrate_app, name="calibrate")

_SCHED = typer.Option(
    None, "--scheduler", help="Address of an existing Dask scheduler (default: a LocalCluster)."
)
_WORKERS = typer.Option(
    2, "--workers", help="LocalCluster worker processes (1 thread each); 0 runs in this process."
)
_MAXNEW = typer.Option(
    None, "--max-new", help="Stop after this many new replications (resume by rerunning)."
)
_PROGRESS = typer.Option(True, "--progress/--no-progress", help="Show a progress bar with ETA.")


@calibrate_app.command("sbc")
def sbc_cmd(
    model: str = typer.Option(None, "--model", help="A shipped model (see --list)."),
    sims: int = typer.Option(200, "--sims", help="Number of simulations N."),
    design: str = typer.Option(
        None, "--design", help="Design dataset (eight schools: fixed; regression_*: customs38)."
    ),
    out: Path = typer.Option(Path("bayesres-sbc"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed, the same ranks."),
    ranks: int = typer.Option(100, "--ranks", help="Rank values L + 1 (L thinned draws)."),
    draws: int = typer.Option(500, "--draws", help="Posterior draws per chain."),
    tune: int = typer.Option(
        None,
        "--tune",
        help="Tuning steps per chain (default: the model's, 1,000, as the analyses tune).",
    ),
    chains: int = typer.Option(1, "--chains", help="Chains per fit."),
    retry: bool = typer.Option(
        True,
        "--retry/--no-retry",
        help="Sample a divergent fit again up the target_accept ladder, as the analyses do "
        "(first-attempt divergences are reported either way).",
    ),
    scheduler: str = _SCHED,
    workers: int = _WORKERS,
    max_new: int = _MAXNEW,
    progress: bool = _PROGRESS,
    list_: bool = typer.Option(False, "--list", help="List the shipped models and exit."),
) -> None:
    """Simulation-based calibration: writes OUT/sbc.csv and OUT/figures/*.png."""
    from bayesres.calibrate import list_models, run_sbc
    from bayesres.errors import SpecError

    if list_:
        for m in list_models():
            typer.echo(f"{m.name}\t{m.description}")
        return
    if not model:
        raise SpecError("--model is required", hint="See 'bayesres calibrate sbc --list'.")
    if design not in (None, "customs38"):
        raise SpecError(
            f"unknown design {design!r} for SBC",
            hint="The shipped models use their own design (eight schools) or customs38.",
        )
    table = run_sbc(
        model,
        sims=sims,
        out=out,
        seed=seed,
        n_ranks=ranks,
        draws=draws,
        tune=tune,
        chains=chains,
        retry=retry,
        scheduler=scheduler,
        workers=workers,
        progress=progress and sys.stderr.isatty(),
        max_new=max_new,
    )
    if table is None:
        typer.echo(f"stopped after {max_new} new simulations; rerun with the same --out to resume")
        return
    fits = table.attrs["fits"]
    verdict = fits["verdict"]
    detail = (
        f"{fits['divergent_fits']} of {fits['n_sims']} fits divergent"
        if verdict == "flagged"
        else f"{int(table['passed'].sum())}/{len(table)} quantities uniform"
    )
    typer.echo(f"SBC {model}: {verdict.upper() if verdict != 'passed' else verdict} ({detail})")
    typer.echo(f"wrote {out / 'sbc.csv'} and {out / 'figures'}")


@calibrate_app.command("coverage")
def coverage_cmd(
    scenario: list[str] = typer.Option(
        ["S1"], "--scenario", help="S1..S6 (repeatable or comma-separated; 'all' for all six)."
    ),
    reps: int = typer.Option(1000, "--reps", help="Replications R per scenario."),
    design: str = typer.Option("customs38", "--design", help="Dataset giving the tier sizes."),
    methods: str = typer.Option(
        "all", "--methods", help="all | ols | freq | bayes | comma list of method names."
    ),
    out: Path = typer.Option(Path("bayesres-coverage"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    draws: int = typer.Option(500, "--draws", help="Bayesian methods: draws per chain."),
    tune: int = typer.Option(500, "--tune", help="Bayesian methods: tuning steps."),
    chains: int = typer.Option(2, "--chains", help="Bayesian methods: chains."),
    boot_draws: int = typer.Option(999, "--boot-draws", help="Wild bootstrap draws."),
    centre: str = typer.Option(
        "tier",
        "--centre",
        help="tier | global: centring of x in bayes-nopool / bayes-hier-* (the analysis "
        "default is tier).",
    ),
    scheduler: str = _SCHED,
    workers: int = _WORKERS,
    max_new: int = _MAXNEW,
    progress: bool = _PROGRESS,
) -> None:
    """Coverage at fixed true parameters: writes OUT/coverage.csv and OUT/figures/*.png."""
    from bayesres.calibrate import SCENARIOS, run_coverage

    names: list[str] = []
    for s in scenario:
        for part in s.split(","):
            part = part.strip().upper()
            names += list(SCENARIOS) if part == "ALL" else [part] if part else []
    table = run_coverage(
        list(dict.fromkeys(names)),
        reps=reps,
        out=out,
        design=design,
        methods=methods,
        seed=seed,
        draws=draws,
        tune=tune,
        chains=chains,
        boot_draws=boot_draws,
        scheduler=scheduler,
        workers=workers,
        progress=progress and sys.stderr.isatty(),
        max_new=max_new,
        centre=centre,
    )
    if table is None:
        typer.echo(f"stopped after {max_new} new replications; rerun with the same --out to resume")
        return
    typer.echo(f"wrote {out / 'coverage.csv'} ({len(table)} rows) and {out / 'figures'}")


@calibrate_app.command("sensitivity")
def sensitivity_cmd(
    model: str = typer.Option(..., "--model", help="regression | did"),
    dataset: str = typer.Option(
        None,
        "--dataset",
        help="Bundled dataset (regression: customs38; did: ecommerce_panel or mpdta).",
    ),
    scales: str = typer.Option("0.5,2", "--scales", help="Prior scale factors, comma-separated."),
    priors: str = typer.Option(
        None,
        "--priors",
        help="Prior scales to vary, comma-separated, or 'all' (regression: group_sd, slope, "
        "intercept, sigma; default group_sd,slope. did: th0, s_th, s_phi, s_psi, s_c, s_pi, "
        "s_d; default th0,s_psi,s_c - each did prior recompiles).",
    ),
    out: Path = typer.Option(Path("bayesres-sensitivity"), "--out", help="Output folder."),
    draws: int = typer.Option(None, "--draws", help="Draws per chain [1000; tuning 1000]."),
    chains: int = typer.Option(None, "--chains", help="Chains per fit [4]."),
    seed: int = typer.Option(0, "--seed", help="Random seed, shared by every fit."),
    likelihood: str = typer.Option("normal", "--likelihood", help="regression: normal | student."),
    psense: bool = typer.Option(
        True, "--psense/--no-psense", help="Also power-scaling (psense.csv, psis_* columns)."
    ),
) -> None:
    """Prior sensitivity: refits at each prior scale x each factor, one prior at a time.

    Writes OUT/sensitivity.csv (prior, factor, quantity, mean_ref, mean, shift_sd, sd_ratio,
    verdict_changed, ...), OUT/psense.csv, OUT/reference.csv, OUT/sensitivity.json and
    OUT/figures/sensitivity.png.
    """
    from bayesres.calibrate import sensitivity as sens
    from bayesres.config import RHAT_MAX
    from bayesres.errors import SpecError

    try:
        factors = [float(s) for s in scales.split(",") if s.strip()]
    except ValueError:
        raise SpecError(f"--scales {scales!r} is not a comma list of numbers") from None
    names = [p.strip() for p in (priors or "").split(",") if p.strip()] or None
    if names == ["all"]:
        names = list(sens.REGRESSION_PRIORS if model == "regression" else sens.DID_PRIORS)
    kwargs: dict = {"likelihood": likelihood} if model == "regression" else {}
    if model == "did" and likelihood != "normal":
        raise SpecError("--likelihood is a regression option", hint="Drop it for --model did.")
    result = sens.run_prior_sensitivity(
        model,
        dataset=dataset,
        out=out,
        priors=names,
        factors=factors,
        draws=draws,
        chains=chains,
        seed=seed,
        psense=psense,
        progress=lambda msg: typer.echo(f"  fitting: {msg}", err=True),
        **kwargs,
    )
    t = result.table
    top = t.loc[t["shift_sd"].abs().idxmax()]
    typer.echo(
        f"prior sensitivity {model} on {result.info['dataset']}: {result.info['fits']} fits, "
        f"largest |shift| {abs(top['shift_sd']):.2f} sd ({top['quantity']}, "
        f"{top['prior']} x {top['factor']:g})"
    )
    changed = t[t["verdict_changed"]]
    for r in changed.itertuples():
        typer.echo(
            f"  interval verdict changed: {r.quantity} ({r.prior} x {r.factor:g}): "
            f"{r.verdict_ref} -> {r.verdict}"
        )
    info = result.info
    health = info["per_fit"].values()
    bad = [f for f in health if not f["r_hat_max"] < RHAT_MAX or f["divergences"]]
    if bad:
        worst = max(f["r_hat_max"] for f in health)
        typer.echo(
            f"warning: {len(bad)} of {info['fits']} fits failed the R-hat < {RHAT_MAX} or "
            f"divergence gate (worst R-hat {worst:.3f}): read shifts against shift_mcse, or "
            "rerun with more --draws / --chains",
            err=True,
        )
    typer.echo(f"wrote {out / 'sensitivity.csv'} and {out / 'figures' / 'sensitivity.png'}")
