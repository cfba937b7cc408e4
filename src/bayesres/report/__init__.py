"""HTML reports: self-contained (figures embedded as base64), rendered with jinja2."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

__all__ = ["render_analysis_report", "environment", "embed_png", "table_html"]


def environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("bayesres", "report/templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def embed_png(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def table_html(df: Any, *, max_rows: int = 60, digits: int = 4) -> str:
    if df is None or not len(df):
        return "<p><em>(empty)</em></p>"
    shown = df.head(max_rows)
    html = shown.to_html(
        index=False, float_format=lambda v: f"{v:.{digits}g}", border=0, classes="tbl", na_rep="—"
    )
    if len(df) > max_rows:
        html += f"<p class='muted'>{len(df) - max_rows} more rows in the CSV.</p>"
    return html


def render_analysis_report(result: Any, out: Path, *, figure_files: dict[str, Path]) -> Path:
    """Write ``out/report.html`` for one analysis result."""
    from bayesres.io import atomic_write_text

    cmp = result.comparison()
    tmpl = environment().get_template("analysis.html.j2")
    html = tmpl.render(
        title=f"bayesres — {result.analysis}",
        result=result,
        synthetic=result.data.synthetic,
        diagnostics=result.diagnostics.to_json() if result.diagnostics is not None else None,
        comparison=table_html(cmp) if len(cmp) else None,
        bayesian=table_html(result.estimates) if len(result.estimates) else None,
        frequentist=table_html(result.frequentist) if len(result.frequentist) else None,
        tables={k: table_html(v) for k, v in result.tables.items()},
        figures={k: embed_png(v) for k, v in figure_files.items()},
        notes=result.notes,
        settings=result.settings,
    )
    return atomic_write_text(out / "report.html", html)
