"""``bayesres replicate`` and ``bayesres run SPEC`` (registered here)."""

from __future__ import annotations

from pathlib import Path

import typer

from bayesres.cli import app
from bayesres.cli.common import QuickOpt, SeedOpt, StrictOpt


def _strict_exit(runs: list, *, strict: bool) -> None:
    """Exit 1 if an analysis raised; exit 3 under --strict if any fit failed its gates."""
    from bayesres.errors import BayesresError, DiagnosticsFailedError

    errors = [r for r in runs if r.error is not None]
    if errors:
        raise BayesresError(
            f"{len(errors)} analysis(es) did not run: "
            + "; ".join(f"{r.folder}: {r.error}" for r in errors),
            hint="See the report for details; set BAYESRES_DEBUG=1 and run the spec alone.",
        )
    failed = [
        r for r in runs if r.result.diagnostics is not None and not r.result.diagnostics.passed
    ]
    if failed and strict:
        raise DiagnosticsFailedError(
            "failed diagnostic gates: "
            + "; ".join(f"{r.folder}: {', '.join(r.result.diagnostics.messages)}" for r in failed),
            hint="Increase --draws, or see the gate summary in the report.",
        )


@app.command("replicate")
def replicate_cmd(
    out: Path = typer.Option(
        Path("bayesres-replicate"), "--out", help="Output folder (one subfolder per analysis)."
    ),
    quick: bool = QuickOpt,
    seed: int = SeedOpt,
    strict: bool = StrictOpt,
    jobs: int | None = typer.Option(
        None,
        "--jobs",
        min=1,
        help="Processes for the two independent chains (paper 001, paper 003); default 2 on a "
        "machine with >= 2 cores, else 1.",
    ),
) -> None:
    """Papers 001 and 003 end to end on the bundled data: one report plus one folder per analysis."""
    from rich.console import Console

    from bayesres.replicate import replicate

    rep = replicate(out, quick=quick, seed=seed, progress=True, jobs=jobs)
    console = Console(stderr=True)
    console.print(
        f"wrote [bold]{out}/report.html[/], report.md and {len(rep.runs)} analysis folders "
        f"in {rep.seconds:.0f} s"
    )
    if quick and rep.failed_gates:
        console.print(
            f"quick smoke run: {len(rep.failed_gates)} of "
            f"{sum(r.ok and r.result.diagnostics is not None for r in rep.runs)} MCMC fits did not "
            "pass the gates, as expected with 2 chains x 200 draws; run without --quick for "
            "reportable fits."
        )
    else:
        for r in rep.failed_gates:
            msgs = "; ".join(r.result.diagnostics.messages)
            console.print(f"[bold red]diagnostics failed[/] {r.folder}: {msgs}")
    if rep.skipped:
        console.print(f"skipped under --quick: {', '.join(rep.skipped)}")
    _strict_exit(rep.runs, strict=strict)


@app.command("run")
def run_cmd(
    spec: str = typer.Argument(..., help="A models/*.toml spec (path or name, e.g. did_003)."),
    out: Path = typer.Option(
        Path("bayesres-out"), "--out", help="Output folder (one subfolder per analysis)."
    ),
    quick: bool = QuickOpt,
    seed: int = SeedOpt,
    strict: bool = StrictOpt,
    variants: bool = typer.Option(
        True, "--variants/--no-variants", help="Also run the spec's robustness variants."
    ),
) -> None:
    """Execute one model spec (and its variants); regression specs run their index spec first."""
    from rich.console import Console

    from bayesres.spec import load_spec, run_spec

    s = load_spec(spec)
    console = Console(stderr=True)
    upstream = {}
    if s.index_from is not None:
        pre = run_spec(s.index_from, out=out, quick=quick, seed=seed, variants=False)
        _strict_exit(pre, strict=False)
        upstream[s.index_from] = pre[0].result
    runs = run_spec(s, out=out, quick=quick, seed=seed, upstream=upstream, variants=variants)
    for r in runs:
        status = r.error or (
            "gates FAILED: " + "; ".join(r.result.diagnostics.messages)
            if r.result.diagnostics is not None and not r.result.diagnostics.passed
            else "ok"
        )
        console.print(f"{r.folder:<28} {r.seconds:6.1f}s  {status}")
    console.print(f"wrote [bold]{out}[/]")
    _strict_exit(runs, strict=strict)
