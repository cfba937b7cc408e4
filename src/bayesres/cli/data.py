"""``bayesres data list | show | export | check``."""

from __future__ import annotations

from pathlib import Path

import typer

from bayesres.cli import app

data_app = typer.Typer(help="Bundled datasets and input checks.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("list")
def list_cmd() -> None:
    """One line per bundled dataset: name, real/synthetic, rows, description."""
    from bayesres import datasets

    for d in datasets.list_datasets():
        typer.echo(f"{d.name:<20} {d.kind:<10} {d.rows:>6}  {d.description}")


@data_app.command("show")
def show_cmd(name: str = typer.Argument(..., help="Dataset name.")) -> None:
    """Print a dataset's datasheet (how it was made, generator, seed, true parameters, columns)."""
    from rich.console import Console
    from rich.table import Table

    from bayesres import datasets

    meta = datasets.info(name)
    sheet = meta.sheet
    con = Console()
    label = "[bold yellow]SYNTHETIC[/]" if meta.synthetic else "[bold green]real[/]"
    con.print(f"[bold]{meta.name}[/] — {label} — {meta.rows} rows — {meta.description}")
    if sheet.get("generator"):
        con.print(f"generator: {sheet['generator']}  seed: {sheet.get('seed')}")
    con.print(sheet.get("how_made", "").strip())
    cols = sheet.get("columns", {})
    if cols:
        t = Table("column", "unit", "description")
        for c, v in cols.items():
            t.add_row(c, str(v.get("unit", "")), str(v.get("description", "")))
        con.print(t)
    if sheet.get("true_parameters"):
        con.print("[bold]true parameters[/]:", sheet["true_parameters"])


@data_app.command("export")
def export_cmd(
    name: str = typer.Argument(..., help="Dataset name."),
    path: Path = typer.Argument(..., help="CSV file to write (replaced atomically)."),
) -> None:
    """Write bundled dataset NAME as CSV to PATH."""
    from bayesres import datasets

    datasets.info(name)  # unknown name: one-line error before touching PATH
    datasets.export(name, path)
    typer.echo(f"wrote {path}")


KINDS = ("cross-section", "indicators", "panel")


@data_app.command("check")
def check_cmd(
    path: Path = typer.Argument(..., help="CSV, Parquet or XLSX file to validate."),
    kind: str = typer.Option(..., "--kind", help="cross-section | indicators | panel"),
    unit: str | None = typer.Option(None, "--unit", help="Unit (city) column."),
    tier: str | None = typer.Option(None, "--tier", help="Tier column."),
    outcome: str | None = typer.Option(None, "--outcome", help="Outcome column."),
    predictor: str | None = typer.Option(None, "--predictor", help="Predictor column."),
    control: list[str] = typer.Option([], "--control", help="Control column (repeatable)."),
    log: bool = typer.Option(False, "--log", help="Check values are > 0 (they will be logged)."),
    reference_tier: str | None = typer.Option(None, "--reference-tier"),
    exports_prefix: str | None = typer.Option(
        None, "--exports-prefix", help="Yearly export columns PREFIX<year> (must be > 0)."
    ),
    indicators: Path | None = typer.Option(None, "--indicators", help="Indicator spec."),
    time: str | None = typer.Option(None, "--time", help="Time column."),
    cohort: str | None = typer.Option(None, "--cohort", help="First treated period column."),
    treat: str | None = typer.Option(
        None, "--treat", help="0/1 treatment column to check against the cohort."
    ),
    tiers: str | None = typer.Option(
        None, "--tiers", help="Comma-separated list of known tier labels."
    ),
) -> None:
    """Validate a file exactly as the analysis would; print a summary or a one-line error (exit 2)."""
    import warnings

    from bayesres import validate as v
    from bayesres.errors import BayesresWarning, SpecError
    from bayesres.io import read_table

    if kind not in KINDS:
        raise SpecError(f"unknown --kind {kind!r}", hint="Use cross-section, indicators or panel.")
    if kind == "indicators" and (indicators is None or unit is None):
        raise SpecError(
            "--kind indicators needs --indicators SPEC and --unit COL", hint="Pass both options."
        )
    if kind == "panel" and not (unit and time and cohort):
        raise SpecError(
            "--kind panel needs --unit, --time and --cohort", hint="Pass the three design columns."
        )
    known = [t.strip() for t in tiers.split(",") if t.strip()] if tiers else None
    src = str(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BayesresWarning)
        df = read_table(path)
        if kind == "cross-section":
            extra = [c for c in df.columns if exports_prefix and str(c).startswith(exports_prefix)]
            if exports_prefix and not extra:
                raise SpecError(
                    f"no columns start with {exports_prefix!r}",
                    file=src,
                    hint="Check --exports-prefix.",
                )
            s = v.validate_cross_section(
                df,
                source=src,
                outcome=outcome,
                predictor=predictor,
                controls=control,
                unit=unit,
                tier=tier,
                tiers=known,
                log=log,
                reference_tier=reference_tier,
                extra_numeric=extra,
                extra_positive=True,
            ).summary()
            head = f"cross-section, {s['rows']} rows, {s['units']} units"
        elif kind == "indicators":
            assert indicators is not None and unit is not None
            spec = v.read_indicator_spec(indicators)
            s = v.validate_indicators(
                df, source=src, spec=spec, unit=unit, time=time, tier=tier, tiers=known
            ).summary()
            head = (
                f"indicators, {s['rows']} rows, {s['units']} units, {s['indicators']} indicators "
                f"in {s['dimensions']} dimensions"
            )
            if "periods" in s:
                head += f", periods {s['periods'][0]}-{s['periods'][1]}, " + (
                    "balanced" if s["balanced"] else "unbalanced"
                )
        else:
            assert unit and time and cohort
            s = v.validate_panel(
                df,
                source=src,
                unit=unit,
                time=time,
                cohort=cohort,
                outcome=outcome,
                tier=tier,
                tiers=known,
                controls=control,
                treat=treat,
            ).summary()
            head = (
                f"panel, {s['rows']} rows, {s['units']} units, periods "
                f"{s['periods'][0]}-{s['periods'][1]}, "
                + ("balanced" if s["balanced"] else "unbalanced")
            )
    typer.echo(f"ok: {src}: {head}")
    if "cohorts" in s:
        cohorts = s["cohorts"]
        parts = [f"{g} {n}" for g, n in cohorts.items() if g != 0]
        if 0 in cohorts:
            parts.append(f"never {cohorts[0]}")
        typer.echo("cohorts: " + ", ".join(parts))
    if "tiers" in s:
        typer.echo("tiers: " + ", ".join(f"{t} {n}" for t, n in s["tiers"].items()))
    for w in caught:  # weak-but-usable data: one line each on stderr, exit 0
        if issubclass(w.category, BayesresWarning):
            typer.echo(f"warning: {' '.join(str(w.message).split())}", err=True)
