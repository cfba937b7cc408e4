"""``bayesres calibrate sbc | coverage`` (CONTRACT.md: Calibration commands)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from bayesres.cli import app

calibrate_app = typer.Typer(
    help="Calibration studies: SBC and fixed-parameter coverage, on Dask.", no_args_is_help=True
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
    tune: int = typer.Option(500, "--tune", help="Tuning steps per chain."),
    chains: int = typer.Option(1, "--chains", help="Chains per fit."),
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
        scheduler=scheduler,
        workers=workers,
        progress=progress and sys.stderr.isatty(),
        max_new=max_new,
    )
    if table is None:
        typer.echo(f"stopped after {max_new} new simulations; rerun with the same --out to resume")
        return
    verdict = "passed" if bool(table["passed"].all()) else "FAILED"
    typer.echo(f"SBC {model}: {verdict} ({int(table['passed'].sum())}/{len(table)} quantities)")
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
    )
    if table is None:
        typer.echo(f"stopped after {max_new} new replications; rerun with the same --out to resume")
        return
    typer.echo(f"wrote {out / 'coverage.csv'} ({len(table)} rows) and {out / 'figures'}")
