"""The reports, rendered from hand-built results (no sampling).

``render_replication_report`` (``bayesres replicate``: DIR/report.html + DIR/report.md) and
``render_analysis_report`` (one analysis' report.html, written by ``AnalysisResult.save``).

Every expected number below comes from the inputs built here or from the papers' tables in
data/published (read directly, not through ``bayesres.published``); display strings follow the
reports' documented format: estimates to 3 significant digits, "estimate [low, high]", and the
posterior column adds ", P(>0) p" with p to 2 decimals.
"""

from __future__ import annotations

import base64
import html as htmllib
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bayesres.datasets import data_dir  # noqa: E402
from bayesres.diagnostics import GateReport  # noqa: E402
from bayesres.replicate import Replication  # noqa: E402
from bayesres.report import render_replication_report  # noqa: E402
from bayesres.results import AnalysisResult, DataInfo  # noqa: E402
from bayesres.spec import Spec, SpecRun  # noqa: E402

# --------------------------------------------------------------------------- inputs
# regression_001 (paper 001, customs38). slope: HDI and CI both exclude 0, |z| < 2, sd/SE ~ 0.94,
# and the paper's t 3.557 is significant like the HDI -> no flag. slope_diff[first-other]: the
# CI excludes 0, the HDI does not; the paper's t -2.841 is significant -> two flags.
REG_BAYES = {
    "slope": (0.18, 0.06, 0.05, 0.31, 0.99),
    "slope_diff[first-other]": (-0.02, 0.015, -0.05, 0.01, 0.09),
    "sigma": (0.3, 0.04, 0.23, 0.38, 1.0),
}
REG_FREQ = {
    "slope": (0.226, 0.0635, 0.1, 0.352, 0.001),
    "slope_diff[first-other]": (-0.0305, 0.0107, -0.052, -0.009, 0.007),
}
# did_003 (paper 003, ecommerce_panel)
DID_BAYES = {
    "TWFE": (0.012, 0.004, 0.004, 0.02, 0.998),
    "ATT": (0.021, 0.0065, 0.008, 0.034, 0.999),
}
DID_FREQ = {
    "TWFE": (0.016, 0.0035, 0.0091, 0.0229, 0.0001),
    "ATT": (0.019, 0.006, 0.0072, 0.0308, 0.002),
}
FAIL_MESSAGES = ["bulk ESS 37 < 400 (tau[2015,3])", "2 divergent transitions"]


def _bayes(rows: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "quantity": q,
                "estimate": m,
                "std_error": sd,
                "lower": lo,
                "upper": hi,
                "level": 0.95,
                "p_positive": pp,
                "method": "hand-built posterior",
            }
            for q, (m, sd, lo, hi, pp) in rows.items()
        ]
    )


def _freq(rows: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "quantity": q,
                "estimate": e,
                "std_error": se,
                "lower": lo,
                "upper": hi,
                "level": 0.95,
                "p_value": p,
                "method": "hand-built OLS",
            }
            for q, (e, se, lo, hi, p) in rows.items()
        ]
    )


def _gates(passed: bool) -> GateReport:
    if passed:
        return GateReport(
            r_hat_max=1.004, ess_bulk_min=812, ess_tail_min=640, divergences=0, bfmi_min=0.9
        )
    rep = GateReport(r_hat_max=1.03, ess_bulk_min=37, ess_tail_min=52, divergences=2, bfmi_min=0.8)
    rep.passed, rep.messages = False, list(FAIL_MESSAGES)
    return rep


def _result(
    analysis: str, source: str, bayes: dict, freq: dict, *, passed=True, synthetic=True, quick=False
) -> AnalysisResult:
    return AnalysisResult(
        analysis=analysis,
        data=DataInfo(source=source, sha256=None, n_rows=38, synthetic=synthetic),
        settings={"seed": 0, "draws": 1000, "chains": 4, "sampler": "nutpie", "quick": quick},
        estimates=_bayes(bayes),
        frequentist=_freq(freq),
        diagnostics=_gates(passed),
    )


def _run(name: str, analysis: str, paper: str, result: AnalysisResult, **spec_kw) -> SpecRun:
    spec = Spec(name=name, analysis=analysis, paper=paper, title=f"{name} title", **spec_kw)
    return SpecRun(spec=spec, folder=name, result=result, seconds=1.5)


def _replication(
    out: Path, *, did_passed=True, synthetic=True, quick=False, reg_source="customs38"
) -> Replication:
    reg = _run(
        "regression_001",
        "regression",
        "001",
        _result("regression", reg_source, REG_BAYES, REG_FREQ, synthetic=synthetic, quick=quick),
        dataset="customs38",
        key_quantities=("slope", "slope_diff[first-other]"),
        headline=("slope", "slope_diff[first-other]"),
        published_variant="baseline",
    )
    did = _run(
        "did_003",
        "did",
        "003",
        _result(
            "did",
            "ecommerce_panel",
            DID_BAYES,
            DID_FREQ,
            passed=did_passed,
            synthetic=synthetic,
            quick=quick,
        ),
        dataset="ecommerce_panel",
        key_quantities=("TWFE", "ATT"),
        headline=("TWFE", "ATT"),
        published_variant="controls",
    )
    out.mkdir(parents=True, exist_ok=True)
    return Replication(out=out, runs=[reg, did], seconds=12.0, quick=quick, seed=7)


def _published(name: str) -> pd.DataFrame:
    return pd.read_csv(data_dir() / "published" / name)


def _summary(html: str) -> str:
    """The report's first screen: the <section id="summary"> block."""
    m = re.search(r'<section id="summary".*?</section>', html, flags=re.S)
    assert m is not None, "no summary section"
    return m.group(0)


class _Refs(HTMLParser):
    """Every tag with its attributes, and inline style text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data


def _assert_self_contained(html: str) -> int:
    """Every <img> is an embedded PNG; nothing is fetched from elsewhere. Returns #images."""
    p = _Refs()
    p.feed(html)
    imgs = [a for t, a in p.tags if t == "img"]
    for a in imgs:
        src = a.get("src") or ""
        assert src.startswith("data:image/png;base64,"), src[:60]
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for tag, attrs in p.tags:
        assert tag not in ("script", "link", "iframe", "object", "embed"), tag
        for key in ("src", "href", "srcset", "data", "poster"):
            v = (attrs.get(key) or "").strip().lower()
            assert not re.match(r"^(https?:|//|file:)", v), (tag, key, v)
    assert "url(" not in p.style and "@import" not in p.style
    return len(imgs)


# --------------------------------------------------------------------------- tests
def test_first_screen_lists_claims_and_bayesian_answer(tmp_path):
    rep = _replication(tmp_path / "rep")
    html_path, md_path = render_replication_report(rep)
    html = html_path.read_text(encoding="utf-8")
    summary = _summary(html)
    # it comes first: before the gate table and the per-analysis sections
    assert html.index(summary) < html.index("Diagnostic gates of every fit")

    # what the papers claimed (data/published): 001 Table 2 baseline slope and Table 4 slope
    # differences; 003 Table 4 DID without controls (col 1) and with five controls (col 6)
    t001 = _published("seed001_regressions.csv")
    base = t001[(t001["table"] == "2 (baseline)") & (t001["term"] == "LnRescity")].iloc[0]
    first = t001[t001["term"] == "FirstTier x LnRescity"].iloc[0]
    t003 = _published("seed003_regressions.csv")
    did4 = t003[(t003["table"] == 4) & (t003["term"] == "DID")]
    col1, col6 = (did4[did4["column"] == c].iloc[0] for c in (1, 6))
    assert "Paper 001" in summary and "Paper 003" in summary
    for num in (base["coef"], base["t_robust"], first["coef"], col1["coef"], col6["coef"]):
        assert f"{num:g}" in summary, num
    assert "The paper claimed" in summary

    # what the Bayesian re-analysis says, beside the frequentist twin (the inputs above)
    assert "The re-analysis says" in summary
    for q in ("slope", "slope_diff[first-other]", "TWFE", "ATT"):
        assert f"<code>{q}</code>" in summary, q
    assert "0.18 [0.05, 0.31], P(&gt;0) 0.99" in summary  # posterior of slope
    assert "0.226 [0.1, 0.352]" in summary  # its OLS twin
    assert "-0.02 [-0.05, 0.01], P(&gt;0) 0.09" in summary
    assert "0.012 [0.004, 0.02], P(&gt;0) 1.00" in summary  # TWFE posterior, p 0.998
    assert "0.016 [0.0091, 0.0229]" in summary  # its twin
    # the paper's column carries the published number next to ours (001 Table 2: 0.226)
    assert f"{base['coef']:g} (t {base['t_robust']:.3g})" in summary

    # where they differ: slope_diff's CI excludes 0 but its HDI does not, and the paper's
    # t -2.841 was significant; slope agrees on every rule and is not listed
    assert "Where they differ" in summary
    diff = "regression_001: slope_diff[first-other] — CI excludes 0, HDI does not"
    assert diff in summary
    assert "paper significant, HDI includes 0" in summary
    assert "regression_001: slope —" not in summary
    # both fits passed: the green banner, no red one
    assert "All fits passed their diagnostic gates" in summary
    assert 'class="banner fail"' not in html


def test_failed_gate_shows_banner_naming_failing_checks(tmp_path):
    rep = _replication(tmp_path / "rep", did_passed=False)
    html_path, md_path = render_replication_report(rep)
    html = html_path.read_text(encoding="utf-8")
    summary = _summary(html)
    banner = re.search(r'<div class="banner fail">(.*?)</div>', summary, flags=re.S)
    assert banner is not None, "no failing-gate banner on the first screen"
    text = htmllib.unescape(banner.group(1))
    assert "Diagnostics FAILED" in text
    assert "did_003" in text and "regression_001" not in text
    for msg in FAIL_MESSAGES:
        assert msg in text
    assert "All fits passed" not in html
    assert "Quick smoke run" not in html
    # the gate table marks the failing fit, and the did section repeats the banner
    assert html.count("FAILED") >= 3
    md = md_path.read_text(encoding="utf-8")
    assert "**Diagnostics FAILED:**" in md
    assert f"did_003: {'; '.join(FAIL_MESSAGES)}" in md
    assert "All fits passed" not in md

    # the analysis' own report.html carries the same banner
    out = rep.runs[1].result.save(tmp_path / "did_003")
    sub = (out / "report.html").read_text(encoding="utf-8")
    banner = re.search(r'<div class="banner fail">(.*?)</div>', sub, flags=re.S)
    assert banner is not None
    assert all(m in htmllib.unescape(banner.group(1)) for m in FAIL_MESSAGES)
    assert 'class="banner pass"' not in sub


def test_passing_analysis_report_has_pass_banner_not_fail(tmp_path):
    res = _result("regression", "customs38", REG_BAYES, REG_FREQ)
    html = (res.save(tmp_path / "r") / "report.html").read_text(encoding="utf-8")
    assert 'class="banner pass"' in html and 'class="banner fail"' not in html
    assert "R-hat max 1.004" in html and "bulk ESS min 812" in html


@pytest.mark.parametrize("synthetic", [True, False])
def test_synthetic_data_banner(tmp_path, synthetic):
    rep = _replication(tmp_path / "rep", synthetic=synthetic)
    html_path, md_path = render_replication_report(rep)
    summary = _summary(html_path.read_text(encoding="utf-8"))
    md = md_path.read_text(encoding="utf-8")
    sub = (rep.runs[0].result.save(tmp_path / "reg") / "report.html").read_text(encoding="utf-8")
    if synthetic:
        assert 'class="banner synthetic"' in summary
        assert "Synthetic data (customs38, ecommerce_panel)" in summary
        assert "**Synthetic data** (customs38, ecommerce_panel)" in md
        assert 'class="banner synthetic"' in sub
    else:
        assert "banner synthetic" not in summary and "Synthetic data" not in summary
        assert "Synthetic data" not in md
        assert "banner synthetic" not in sub


def test_synthetic_banner_names_only_the_synthetic_sources(tmp_path):
    rep = _replication(tmp_path / "rep")
    rep.runs[0].result.data = DataInfo("cities.csv", "abc", 38, synthetic=False)
    html_path, _ = render_replication_report(rep)
    summary = _summary(html_path.read_text(encoding="utf-8"))
    assert "Synthetic data (ecommerce_panel)" in summary and "cities.csv" not in summary


def test_reports_are_self_contained(tmp_path):
    def figure():
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, 1])
        return fig

    rep = _replication(tmp_path / "rep", did_passed=False)
    html_path, _ = render_replication_report(rep)
    # one forest overlay per analysis with twins (both here), embedded
    assert _assert_self_contained(html_path.read_text(encoding="utf-8")) == 2

    res = _result("regression", "customs38", REG_BAYES, REG_FREQ)
    res.figures = {"line": figure, "line2": figure}
    out = res.save(tmp_path / "reg")
    html = (out / "report.html").read_text(encoding="utf-8")
    # the two figures (also saved as figures/*.png) plus the twins' forest overlay
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["line.png", "line2.png"]
    assert _assert_self_contained(html) == 3
    assert str(tmp_path) not in html  # no local file paths either


def test_markdown_report_mentions_the_same_quantities(tmp_path):
    rep = _replication(tmp_path / "rep", did_passed=False)
    html_path, md_path = render_replication_report(rep)
    assert md_path == tmp_path / "rep" / "report.md" and md_path.is_file()
    md = md_path.read_text(encoding="utf-8")
    t001 = _published("seed001_regressions.csv")
    base = t001[(t001["table"] == "2 (baseline)") & (t001["term"] == "LnRescity")].iloc[0]
    assert "**What the paper claimed**" in md and f"{base['coef']:g}" in md
    assert "**What the re-analysis says**" in md
    for q in ("slope", "slope_diff[first-other]", "TWFE", "ATT"):
        assert re.search(rf"\| {re.escape(q)} \|", md), q
    for shown in (
        "0.18 [0.05, 0.31], P(>0) 0.99",
        "0.226 [0.1, 0.352]",
        "0.012 [0.004, 0.02], P(>0) 1.00",
        "0.016 [0.0091, 0.0229]",
        "regression_001: slope_diff[first-other] — CI excludes 0, HDI does not",
    ):
        assert shown in md, shown
    # the gate table: one row per fit, with its status and the failing checks
    gates = md[md.index("## Diagnostic gates of every fit") :]
    assert re.search(r"\| regression_001 \| regression \| passed \|", gates)
    assert re.search(r"\| did_003 \| did \| FAILED \|", gates)
    assert "; ".join(FAIL_MESSAGES) in gates


def _record_replaces(monkeypatch) -> list[tuple[Path, Path]]:
    calls: list[tuple[Path, Path]] = []
    real = os.replace

    def replace(src, dst, *a, **kw):
        calls.append((Path(src), Path(dst)))
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", replace)
    return calls


def test_report_files_are_written_atomically(tmp_path, monkeypatch):
    out = tmp_path / "rep"
    rep = _replication(out)
    calls = _record_replaces(monkeypatch)
    render_replication_report(rep)
    # report.html and report.md each arrive by one rename of a temporary file in the same folder
    targets = {dst: src for src, dst in calls}
    for name in ("report.html", "report.md"):
        src = targets[out / name]
        assert src.parent == out and src.name.startswith(f".{name}.") and not src.exists()
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.md"]

    # every file an analysis folder gets (results.json, tables, figures, report.html) is renamed
    # into place, none is written in place
    calls.clear()
    res = rep.runs[0].result
    res.figures = {"fig": lambda: plt.figure(figsize=(2, 2))}
    folder = res.save(tmp_path / "regression_001")
    written = {p for p in folder.rglob("*") if p.is_file()}
    assert written == {dst for _, dst in calls}
    assert {"results.json", "report.html", "fig.png", "comparison.csv"} <= {p.name for p in written}


def test_interrupted_write_leaves_old_report_and_no_temp_files(tmp_path, monkeypatch):
    out = tmp_path / "rep"
    rep = _replication(out)
    (out / "report.html").write_text("OLD HTML")
    (out / "report.md").write_text("OLD MD")

    def crash(fd):  # the disk write fails after the bytes went to the temporary file
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError):
        render_replication_report(rep)
    assert (out / "report.html").read_text() == "OLD HTML"
    assert (out / "report.md").read_text() == "OLD MD"
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.md"]
