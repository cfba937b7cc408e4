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
    path: Path = typer.Argument(..., help="CSV file to write."),
) -> None:
    """Write bundled dataset NAME as CSV to PATH."""
    from bayesres import datasets

    datasets.export(name, path)
    typer.echo(f"wrote {path}")


@data_app.command("check")
def check_cmd(
    path: Path = typer.Argument(..., help="CSV, Parquet or XLSX file to validate."),
    kind: str = typer.Option(..., "--kind", help="cross-section | indicators | panel"),
    unit: str | None = typer.Option(None, "--unit"),
    tier: str | None = typer.Option(None, "--tier"),
    outcome: str | None = typer.Option(None, "--outcome"),
    predictor: str | None = typer.Option(None, "--predictor"),
    control: list[str] = typer.Option([], "--control"),
    log: bool = typer.Option(False, "--log"),
    reference_tier: str | None = typer.Option(None, "--reference-tier"),
    exports_prefix: str | None = typer.Option(None, "--exports-prefix"),
    indicators: Path | None = typer.Option(None, "--indicators"),
    time: str | None = typer.Option(None, "--time"),
    cohort: str | None = typer.Option(None, "--cohort"),
    treat: str | None = typer.Option(
        None, "--treat", help="0/1 treatment column to check against the cohort."
    ),
    tiers: str | None = typer.Option(
        None, "--tiers", help="Comma-separated list of known tier labels."
    ),
) -> None:
    """Validate a file exactly as the analysis would; print a summary or a one-line error (exit 2)."""
    from bayesres import validate as v
    from bayesres.errors import SpecError
    from bayesres.io import read_table

    known = [t.strip() for t in tiers.split(",")] if tiers else None
    df = read_table(path)
    src = str(path)
    if kind == "cross-section":
        extra = [c for c in df.columns if exports_prefix and str(c).startswith(exports_prefix)]
        if exports_prefix and not extra:
            raise SpecError(
                f"no columns start with {exports_prefix!r}",
                file=src,
                hint="Check --exports-prefix.",
            )
        cs = v.validate_cross_section(
            df,
            source=src,
            outcome=outcome,
            predictor=predictor,
            controls=control,
            unit=unit,
            tier=tier,
            tiers=known,
            log=log or bool(exports_prefix),
            reference_tier=reference_tier,
            extra_numeric=extra,
        )
        typer.echo(f"ok: {src}: cross-section, {cs.n} rows")
        if tier:
            sizes = cs.frame[tier].value_counts()
            typer.echo("tiers: " + ", ".join(f"{t} {int(sizes[t])}" for t in cs.tiers))
    elif kind == "indicators":
        if indicators is None or unit is None:
            raise SpecError(
                "--kind indicators needs --indicators SPEC and --unit COL",
                file=src,
                hint="Pass both options.",
            )
        spec = v.read_indicator_spec(indicators)
        it = v.validate_indicators(
            df, source=src, spec=spec, unit=unit, time=time, tier=tier, tiers=known
        )
        n_units = it.frame[unit].nunique()
        typer.echo(
            f"ok: {src}: indicators, {len(it.frame)} rows, {n_units} units, {len(spec.indicators)} indicators in {len(spec.dimension_levels)} dimensions"
        )
        if tier:
            sizes = it.frame.drop_duplicates(unit)[tier].value_counts()
            typer.echo("tiers: " + ", ".join(f"{t} {int(sizes[t])}" for t in it.tiers))
    elif kind == "panel":
        if not (unit and time and cohort):
            raise SpecError(
                "--kind panel needs --unit, --time and --cohort",
                file=src,
                hint="Pass the three design columns.",
            )
        p = v.validate_panel(
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
        )
        s = p.summary()
        typer.echo(
            f"ok: {src}: panel, {s['rows']} rows, {s['units']} units, periods {s['periods'][0]}-{s['periods'][1]}, {'balanced' if s['balanced'] else 'unbalanced'}"
        )
        typer.echo(
            "cohorts: "
            + ", ".join(f"{'never' if g == 0 else g} {n}" for g, n in s["cohorts"].items())
        )
        if tier:
            typer.echo("tiers: " + ", ".join(f"{t} {n}" for t, n in s["tiers"].items()))
    else:
        raise SpecError(f"unknown --kind {kind!r}", hint="Use cross-section, indicators or panel.")
