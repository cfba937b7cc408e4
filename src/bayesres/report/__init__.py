"""HTML reports: self-contained (figures embedded as base64), rendered with jinja2.

``render_analysis_report`` writes one analysis' ``report.html`` (called by ``AnalysisResult.save``);
``render_replication_report`` writes the ``bayesres replicate`` summary (``report.html`` and
``report.md``): the papers' claims, the Bayesian re-analysis beside them, where they differ, the
synthetic-data banner and the gate summary of every fit.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

__all__ = [
    "render_analysis_report",
    "render_replication_report",
    "environment",
    "embed_png",
    "figure_data_uri",
    "table_html",
]

DATASET_PAPER = {"customs38": "001", "ecommerce_panel": "003"}
SMOKE_TEXT = (
    "Main analyses only, 2 chains x 200 draws: it checks that every step runs and writes its "
    "files. Its fits are not expected to pass the gates (ESS >= 400): read the numbers as a smoke "
    "test, not as results, and run without --quick for reportable fits."
)


def _frame(records: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame.from_records(records)


def environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("bayesres", "report/templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def embed_png(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def figure_data_uri(fig: Any, *, dpi: int = 100) -> str:
    """A matplotlib Figure as a PNG data URI (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


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


def _paper_of(result: Any) -> str | None:
    return DATASET_PAPER.get(str(result.data.source))


def _overlay_uri(result: Any, cmp: Any, *, variant: str | None = None) -> str | None:
    """Forest overlay (posterior / frequentist / published) of up to 25 compared quantities."""
    if cmp is None or not len(cmp):
        return None
    try:
        from bayesres.checks import forest_overlay
        from bayesres.published import published_table

        paper = _paper_of(result)
        pub = (
            published_table(result.analysis, list(cmp["quantity"]), paper=paper, variant=variant)
            if paper
            else None
        )
        fig = forest_overlay(cmp, published=pub, max_rows=25, title=f"{result.analysis}: twins")
        return figure_data_uri(fig)
    except Exception:  # a figure must never break the report
        return None


def render_analysis_report(result: Any, out: Path, *, figure_files: dict[str, Path]) -> Path:
    """Write ``out/report.html`` for one analysis result."""
    from bayesres.io import atomic_write_text

    cmp = result.comparison()
    figures = {k: embed_png(v) for k, v in figure_files.items()}
    if "forest_overlay" not in figures:
        uri = _overlay_uri(result, cmp, variant=(result.settings or {}).get("published_variant"))
        if uri is not None:
            figures = {"forest_overlay": uri, **figures}
    tmpl = environment().get_template("analysis.html.j2")
    html = tmpl.render(
        title=f"bayesres — {result.analysis}",
        result=result,
        synthetic=result.data.synthetic,
        diagnostics=result.diagnostics.to_json() if result.diagnostics is not None else None,
        comparison=table_html(cmp) if len(cmp) else None,
        bayesian=table_html(result.estimates) if len(result.estimates) else None,
        frequentist=table_html(result.frequentist) if len(result.frequentist) else None,
        tables={k: table_html(v) for k, v in result.tables.items() if k != "index_draws"},
        figures=figures,
        notes=result.notes,
        settings=result.settings,
    )
    return atomic_write_text(out / "report.html", html)


# ---------------------------------------------------------------- replicate summary
def _fmt(v: Any, digits: int = 3) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—" if v is None else str(v)
    if f != f:
        return "—"
    return f"{f:.{digits}g}"


def _paper_sections(rep: Any) -> list[dict[str, Any]]:
    from bayesres.published import claims
    from bayesres.replicate import PAPER_TITLES, summarise_run

    sections = []
    for paper in ("001", "003"):
        runs = [r for r in rep.runs if r.spec.paper == paper]
        if not runs:
            continue
        blocks = []
        for r in runs:
            summary = summarise_run(r)
            overlay = None
            if r.ok and len(summary) and "freq_estimate" in summary:
                overlay = _summary_overlay(r, summary)
            blocks.append(
                {
                    "folder": r.folder,
                    "title": r.spec.title,
                    "analysis": r.spec.analysis,
                    "error": r.error,
                    "summary": summary,
                    "overlay": overlay,
                    "diagnostics": r.result.diagnostics if r.ok else None,
                    "synthetic": bool(r.ok and r.result.data.synthetic),
                }
            )
        differences = [
            f"{b['folder']}: {row['quantity']} — {row['differs']}"
            for b in blocks
            for row in b["summary"].to_dict("records")
            if row.get("differs")
        ]
        sections.append(
            {
                "paper": paper,
                "title": PAPER_TITLES.get(paper, paper),
                "claims": claims(paper),
                "blocks": blocks,
                "differences": differences,
            }
        )
    return sections


def _summary_overlay(run: Any, summary: Any) -> str | None:
    try:
        from bayesres.checks import forest_overlay

        s = summary.dropna(subset=["post_mean", "freq_estimate"])
        if not len(s):
            return None
        pub = s[["quantity", "published"]].dropna() if "published" in s else None
        return figure_data_uri(forest_overlay(s, published=pub, title=run.spec.title), dpi=90)
    except Exception:
        return None


def _summary_columns(df: Any) -> Any:
    cols = [
        c
        for c in (
            "quantity", "published", "published_t", "freq_estimate", "freq_se", "post_mean",
            "post_sd", "hdi_low", "hdi_high", "p_positive", "z", "sd_over_se", "differs",
        )
        if c in df
    ]  # fmt: skip
    return df[cols]


def _interval(est: Any, lo: Any, hi: Any) -> str:
    if _fmt(est) == "—":
        return "—"
    return f"{_fmt(est)} [{_fmt(lo)}, {_fmt(hi)}]"


def _headline_display(row: dict[str, Any]) -> dict[str, str]:
    """One first-screen row as display strings: paper / twin / posterior / verdict."""
    pub = row.get("published")
    paper = "—"
    if pub is not None and pub == pub:
        t = row.get("published_t")
        paper = _fmt(pub) + (f" (t {_fmt(t)})" if t is not None and t == t else "")
    p = row.get("p_positive")
    post = _interval(row.get("post_mean"), row.get("hdi_low"), row.get("hdi_high"))
    if post != "—" and p is not None and p == p:
        post += f", P(>0) {p:.2f}"
    return {
        "where": row["folder"],
        "quantity": row["quantity"],
        "paper": paper,
        "twin": _interval(
            row.get("freq_estimate"), row.get("freq_ci_low"), row.get("freq_ci_high")
        ),
        "posterior": post,
        "verdict": row.get("differs") or "agrees",
    }


def _status(rep: Any) -> dict[str, Any]:
    """What the first banner says: error, smoke (quick run), fail (full run) or pass."""
    mcmc = [r for r in rep.runs if r.ok and r.result.diagnostics is not None]
    not_passed = [r for r in mcmc if not r.result.diagnostics.passed]
    kind = "error" if rep.errors else ("smoke" if rep.quick else ("fail" if not_passed else "pass"))
    return {
        "kind": kind,
        "n_mcmc": len(mcmc),
        "n_not_passed": len(not_passed),
        "draws": sorted(
            {
                (r.result.settings.get("chains"), r.result.settings.get("draws"))
                for r in mcmc
                if r.result.settings
            }
        ),  # fmt: skip
    }


def render_replication_report(rep: Any) -> tuple[Path, Path]:
    """Write ``rep.out/report.html`` (self-contained) and ``rep.out/report.md``.

    The first screen: the synthetic-data banner, one status line (a full run's failed gate is a
    red banner; a ``--quick`` smoke run gets a neutral notice, since 2 chains x 200 draws are not
    expected to reach ESS 400), and one card per paper: what it claimed, what the Bayesian
    re-analysis and the frequentist twin say on the headline quantities, and where they differ.
    """
    from bayesres._version import __version__
    from bayesres.io import atomic_write_text
    from bayesres.replicate import gate_rows, headline

    quick = bool(getattr(rep, "quick", False))
    gates = gate_rows(rep.runs, quick=quick)
    sections = _paper_sections(rep)
    synthetic = sorted(
        {str(r.result.data.source) for r in rep.runs if r.ok and r.result.data.synthetic}
    )
    failed = [f"{r.folder}: {'; '.join(r.result.diagnostics.messages)}" for r in rep.failed_gates]
    errors = [f"{r.folder}: {r.error}" for r in rep.errors]
    for s in sections:
        rows = headline(rep, s["paper"])
        s["headline"] = [_headline_display(r) for r in rows]
        s["main_folder"] = s["blocks"][0]["folder"] if s["blocks"] else None
        first = [f"{r['folder']}: {r['quantity']} — {r['differs']}" for r in rows if r["differs"]]
        s["top_differences"] = (first + [d for d in s["differences"] if d not in first])[:3]
    ctx = {
        "title": "bayesres replicate — papers 001 and 003",
        "version": __version__,
        "quick": quick,
        "smoke_text": SMOKE_TEXT,
        "skipped": list(getattr(rep, "skipped", [])),
        "status": _status(rep),
        "seed": rep.seed,
        "seconds": rep.seconds,
        "synthetic": synthetic,
        "failed": failed,
        "errors": errors,
        "gates_html": table_html(gates, max_rows=200),
        "sections": [
            {
                **s,
                "blocks": [
                    {
                        **b,
                        "summary_html": table_html(_summary_columns(b["summary"]))
                        if len(b["summary"])
                        else None,
                    }
                    for b in s["blocks"]
                ],
            }
            for s in sections
        ],
    }
    html = environment().get_template("replicate_summary.html.j2").render(**ctx)
    html_path = atomic_write_text(rep.out / "report.html", html)
    md = _markdown(ctx, gates, sections)
    md_path = atomic_write_text(rep.out / "report.md", md)
    return html_path, md_path


def _md_table(df: Any) -> str:
    if df is None or not len(df):
        return "_(empty)_\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for rec in df.to_dict("records"):
        lines.append("| " + " | ".join(_fmt(rec[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _markdown(ctx: dict[str, Any], gates: Any, sections: list[dict[str, Any]]) -> str:
    out = [f"# {ctx['title']}", ""]
    out.append(
        f"bayesres {ctx['version']} · seed {ctx['seed']} · "
        f"{'quick smoke run' if ctx['quick'] else 'full run'} · {ctx['seconds']:.0f} s"
    )
    out.append("")
    if ctx["synthetic"]:
        out.append(
            f"> **Synthetic data** ({', '.join(ctx['synthetic'])}): synthetic replicas calibrated to "
            "the published tables, not the original data."
        )
        out.append("")
    if ctx["errors"]:
        out += ["> **Analyses that did not run:**", *[f"> - {e}" for e in ctx["errors"]], ""]
    st = ctx["status"]
    if ctx["quick"]:
        out += [
            f"> **Quick smoke run.** {SMOKE_TEXT} {st['n_not_passed']} of {st['n_mcmc']} MCMC fits "
            "did not pass the gates.",
            "",
        ]
        if ctx["skipped"]:
            out += [f"Skipped under --quick: {', '.join(ctx['skipped'])}.", ""]
    elif ctx["failed"]:
        out += ["> **Diagnostics FAILED:**", *[f"> - {e}" for e in ctx["failed"]], ""]
    if not ctx["errors"] and not ctx["failed"]:
        out += ["All fits passed their diagnostic gates.", ""]
    for s in sections:
        out += [f"## {s['title']}", "", "**What the paper claimed**", ""]
        out += [f"- {c}" for c in s["claims"]] + [""]
        if s.get("headline"):
            out += ["**What the re-analysis says** (estimate [95% interval])", ""]
            out.append(_md_table(_frame(s["headline"])))
        out += ["**Where the re-analysis differs**", ""]
        out += [f"- {d}" for d in s["differences"]] or ["- no sign, decision or scale changes"]
        out.append("")
        for b in s["blocks"]:
            out += [f"### {b['title']} (`{b['folder']}/`)", ""]
            if b["error"]:
                out += [f"**Did not run:** {b['error']}", ""]
                continue
            out.append(_md_table(_summary_columns(b["summary"])))
    out += ["## Diagnostic gates of every fit", "", _md_table(gates)]
    return "\n".join(out)
