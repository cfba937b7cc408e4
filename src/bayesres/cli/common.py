"""Options and helpers shared by the analysis commands (CONTRACT.md: Analysis commands)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from bayesres.errors import SpecError

DataOpt = typer.Option(
    None, "--data", help="Input table: CSV, Parquet or XLSX.", rich_help_panel="Input"
)
DatasetOpt = typer.Option(
    None, "--dataset", help="A bundled dataset (see 'bayesres data list').", rich_help_panel="Input"
)
OutOpt = typer.Option(
    Path("bayesres-out"),
    "--out",
    help="Output folder (created if missing; files replaced atomically).",
    rich_help_panel="Output",
)
SeedOpt = typer.Option(
    0,
    "--seed",
    help="Random seed: the same seed gives the same numbers.",
    rich_help_panel="Sampling",
)
DrawsOpt = typer.Option(
    None,
    "--draws",
    help="Posterior draws per chain (bootstrap: total draws).",
    rich_help_panel="Sampling",
)
ChainsOpt = typer.Option(None, "--chains", help="MCMC chains.", rich_help_panel="Sampling")
QuickOpt = typer.Option(
    False, "--quick", help="Small draws for a smoke run.", rich_help_panel="Sampling"
)
StrictOpt = typer.Option(
    False,
    "--strict",
    help="Exit with code 3 if the fit fails its diagnostic gates.",
    rich_help_panel="Sampling",
)
HdiOpt = typer.Option(
    0.95, "--hdi-prob", help="Probability mass of the reported HDIs.", rich_help_panel="Output"
)
SamplerOpt = typer.Option(
    "nutpie", "--sampler", help="nutpie | pymc | numpyro", rich_help_panel="Sampling"
)
NoRetryOpt = typer.Option(
    False,
    "--no-retry",
    help="One attempt at the starting target_accept: no retry at 0.95 / 0.99 on divergences.",
    rich_help_panel="Sampling",
)


@dataclass(frozen=True)
class LoadedInput:
    frame: Any
    source: str
    sha256: str | None
    synthetic: bool
    dataset: str | None

    def data_info(self) -> Any:
        from bayesres.results import DataInfo

        return DataInfo(
            source=self.source, sha256=self.sha256, n_rows=len(self.frame), synthetic=self.synthetic
        )


def load_input(data: Path | None, dataset: str | None) -> LoadedInput:
    """Read ``--data`` or ``--dataset`` (exactly one) without modifying the input."""
    if (data is None) == (dataset is None):
        raise SpecError(
            "give exactly one of --data PATH or --dataset NAME",
            hint="See 'bayesres data list' for bundled datasets.",
        )
    if dataset is not None:
        from bayesres import datasets
        from bayesres.io import file_sha256

        meta = datasets.info(dataset)
        return LoadedInput(
            datasets.load(dataset), dataset, file_sha256(meta.path), meta.synthetic, dataset
        )
    from bayesres.io import file_sha256, read_table

    frame = read_table(data)
    return LoadedInput(frame, str(data), file_sha256(data), False, None)


def finish(result: Any, *, out: Path, strict: bool, console: Any | None = None) -> None:
    """Save a result, print a short summary, and apply ``--strict``."""
    from rich.console import Console

    console = console or Console(stderr=True)
    result.save(out)
    diag = result.diagnostics
    if diag is not None and not diag.passed:
        console.print(f"[bold red]diagnostics failed[/]: {'; '.join(diag.messages)}")
    console.print(f"wrote [bold]{out}[/] (results.json, tables/, figures/, report.html)")
    if diag is not None and strict:
        diag.enforce(strict=True, label=result.analysis)
