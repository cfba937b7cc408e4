"""``bayesres replicate``: papers 001 and 003 end to end on the bundled data, one summary report.

Order (each a spec in ``models/``): index_001 (customs38, bootstrap, index draws saved) ->
regression_001 (index uncertainty carried; robustness outcomes as variants) -> index_003
(ecommerce_panel) -> did_003 (twins, Bayesian DID, placebo; robustness and splits as variants).
Every analysis is saved to ``DIR/<name>/`` in the CONTRACT format; the summary goes to
``DIR/report.html`` (self-contained) and ``DIR/report.md``.

``--quick`` is a smoke run: the four main analyses only (variants are skipped and listed in the
report), 2 chains x 200 draws, 20 placebo draws, 4 index draws carried into the regression. Its
fits are not expected to pass the ESS gate, and the report says so in a neutral notice rather than
the red banner a failed full run gets. Compiled models are reused within the run (structure keys)
and across runs (the persistent PyTensor cache, :func:`bayesres.perf.configure_cache`).

``jobs=2`` (the default on a machine with >= 2 cores) runs the two independent chains of specs
(paper 001: index -> regression; paper 003: index -> DID) in two processes. The DID chain is the
longer (six fits against three regressions), so its variants that need no upstream result and
no fit of the main analysis (:func:`shared_variants`: the no-controls fit and the three Table 7
splits) go on a shared queue that both processes draw from once their own work is done; a
variant marked ``with_main`` (not-yet-treated controls, which reuses did_003's Bayesian fit)
stays with its main analysis. Each analysis's numbers do not depend on ``jobs`` or on which
process ran it beyond the last-bit differences between processes (MCMC draws are seeded per fit).
The queue hands out the variants that took longest in this machine's last run first
(:func:`longest_first`, seconds kept in the user cache beside the compiled models), so that the
two processes finish together; a first run keeps spec order.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bayesres.spec import Spec, SpecRun, load_spec, run_spec

__all__ = [
    "REPLICATE_SPECS", "Replication", "replicate", "summarise_run", "gate_rows", "gate_status",
    "headline",
]  # fmt: skip

REPLICATE_SPECS = ("index_001", "regression_001", "index_003", "did_003")
PAPER_TITLES = {
    "001": "Paper 001 — urban resilience and export resilience (38 customs cities, 2020 shock)",
    "003": "Paper 003 — cross-border e-commerce pilot zones and urban economic resilience",
}


@dataclass
class Replication:
    out: Path
    runs: list[SpecRun] = field(default_factory=list)
    seconds: float = 0.0
    quick: bool = False
    seed: int = 0
    skipped: list[str] = field(default_factory=list)  # variants not run under --quick

    @property
    def errors(self) -> list[SpecRun]:
        return [r for r in self.runs if r.error is not None]

    @property
    def failed_gates(self) -> list[SpecRun]:
        return [
            r
            for r in self.runs
            if r.ok and r.result.diagnostics is not None and not r.result.diagnostics.passed
        ]


def gate_status(run: SpecRun, *, quick: bool = False) -> str:
    """``error``, ``no MCMC``, ``passed``, ``FAILED`` (full run) or ``not passed (smoke)``."""
    if run.error is not None:
        return "error"
    d = run.result.diagnostics
    if d is None:
        return "no MCMC"
    if d.passed:
        return "passed"
    return "not passed (smoke)" if quick else "FAILED"


def gate_rows(runs: Sequence[SpecRun], *, quick: bool = False) -> pd.DataFrame:
    """One row per fit: folder, analysis, status, gate numbers and failing checks."""
    rows = []
    for r in runs:
        row: dict[str, Any] = {"folder": r.folder, "analysis": r.spec.analysis}
        if r.error is not None:
            row.update(status="error", messages=r.error)
        elif r.result.diagnostics is None:
            row.update(status="no MCMC", messages="")
        else:
            d = r.result.diagnostics
            row.update(
                status=gate_status(r, quick=quick),
                r_hat_max=d.r_hat_max,
                ess_bulk_min=d.ess_bulk_min,
                ess_tail_min=d.ess_tail_min,
                divergences=d.divergences,
                bfmi_min=d.bfmi_min,
                messages="; ".join(d.messages),
            )
        row["seconds"] = round(r.seconds, 1)
        rows.append(row)
    cols = [
        "folder", "analysis", "status", "r_hat_max", "ess_bulk_min", "ess_tail_min",
        "divergences", "bfmi_min", "messages", "seconds",
    ]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=cols)


def _paper_variant(run: SpecRun) -> str | None:
    return run.spec.published_variant


def summarise_run(run: SpecRun, quantities: Sequence[str] | None = None) -> pd.DataFrame:
    """Key quantities of one run: Bayesian, frequentist and published side by side, with flags.

    ``quantities`` default to the spec's ``[report] key`` (else the first eight compared ones).

    ``differs`` says in words where the re-analysis departs from the frequentist twin or the paper:
    a sign or significance-decision change, |z| >= 2, or sd/SE outside [0.67, 1.5].
    """
    from bayesres.published import published_entry

    if not run.ok:
        return pd.DataFrame()
    res = run.result
    cmp = res.comparison()
    est = res.estimates.set_index("quantity") if len(res.estimates) else pd.DataFrame()
    keys = list(quantities if quantities is not None else run.spec.key_quantities)
    if not keys and quantities is None:
        keys = list(cmp["quantity"].head(8)) if len(cmp) else list(est.index[:8])
    keys = [k for k in keys if k in est.index or (len(cmp) and k in set(cmp["quantity"]))]
    c = cmp.set_index("quantity") if len(cmp) else pd.DataFrame()
    rows = []
    for q in keys:
        row: dict[str, Any] = {"quantity": q}
        if q in est.index:
            b = est.loc[q]
            row.update(
                post_mean=float(b["estimate"]),
                post_sd=float(b["std_error"]),
                hdi_low=float(b["lower"]),
                hdi_high=float(b["upper"]),
                p_positive=float(b["p_positive"]) if "p_positive" in b else float("nan"),
            )
        if len(c) and q in c.index:
            f = c.loc[q]
            row.update(
                freq_estimate=float(f["freq_estimate"]),
                freq_se=float(f["freq_se"]),
                freq_ci_low=float(f["freq_ci_low"]),
                freq_ci_high=float(f["freq_ci_high"]),
                z=float(f["z"]),
                sd_over_se=float(f["sd_over_se"]),
            )
        pub = published_entry(res.analysis, q, paper=run.spec.paper, variant=_paper_variant(run))
        if pub is not None:
            row.update(published=pub.value, published_t=pub.t, published_source=pub.source)
        row["differs"] = "; ".join(_differences(row))
        rows.append(row)
    return pd.DataFrame(rows)


def _headline_of(run: SpecRun) -> tuple[str, ...]:
    wanted = getattr(run.spec, "headline", None)
    if wanted is None and run.spec.path is not None:  # a Spec made before ``headline`` existed
        import tomllib

        doc = tomllib.loads(Path(run.spec.path).read_text(encoding="utf-8"))
        found = [v.get("headline", ()) for v in doc.get("variants", ()) if v["name"] == run.variant]
        base = doc.get("report", {}).get("headline", ())
        wanted = base if run.variant is None else (found[0] if found else ())
    return tuple(wanted or ())


def headline(rep: Replication, paper: str) -> list[dict[str, Any]]:
    """The first-screen rows of one paper: each spec's ``headline`` quantities, in run order."""
    rows = []
    for r in rep.runs:
        wanted = _headline_of(r)
        if r.spec.paper != paper or not r.ok or not wanted:
            continue
        for rec in summarise_run(r, wanted).to_dict("records"):
            rows.append({"folder": r.folder, **rec})
    return rows


def _excludes_zero(lo: float, hi: float) -> bool:
    return bool(lo > 0 or hi < 0)


def _differences(row: dict[str, Any]) -> list[str]:
    out = []
    has_b = "post_mean" in row
    if has_b and "freq_estimate" in row:
        if (row["post_mean"] > 0) != (row["freq_estimate"] > 0):
            out.append("sign differs from frequentist")
        bx = _excludes_zero(row["hdi_low"], row["hdi_high"])
        fx = _excludes_zero(row["freq_ci_low"], row["freq_ci_high"])
        if bx != fx:
            out.append("HDI excludes 0, CI does not" if bx else "CI excludes 0, HDI does not")
        if abs(row.get("z", 0.0)) >= 2:
            out.append(f"|z| = {abs(row['z']):.1f}")
        r = row.get("sd_over_se", 1.0)
        if r == r and (r < 0.67 or r > 1.5):
            out.append(f"sd/SE = {r:.2f}")
    if has_b and row.get("published") is not None and row["published"] == row["published"]:
        if (row["post_mean"] > 0) != (row["published"] > 0):
            out.append("sign differs from the paper")
        t = row.get("published_t")
        if t is not None and t == t:
            paper_sig = abs(t) >= 1.96
            bx = _excludes_zero(row["hdi_low"], row["hdi_high"])
            if paper_sig and not bx:
                out.append("paper significant, HDI includes 0")
            elif bx and not paper_sig:
                out.append("paper not significant, HDI excludes 0")
    return out


def _progress_console(progress: bool) -> Any:
    from rich.console import Console

    return Console(stderr=True, quiet=not progress)


def chains_of(specs: Sequence[Spec]) -> list[list[Spec]]:
    """Independent chains of specs, in run order: a spec joins the chain of its ``index_from``,
    else the chain of its paper, else starts one."""
    chains: list[list[Spec]] = []
    where: dict[str, int] = {}
    by_paper: dict[str, int] = {}
    for spec in specs:
        up = spec.index_from
        if up is not None and up in where:
            i = where[up]
        elif spec.paper and spec.paper in by_paper:
            i = by_paper[spec.paper]
        else:
            chains.append([])
            i = len(chains) - 1
        chains[i].append(spec)
        where[spec.name] = i
        if spec.paper:
            by_paper.setdefault(spec.paper, i)
    return chains


def shared_variants(
    chains: Sequence[Sequence[Spec]], *, quick: bool = False
) -> list[tuple[str, str]]:
    """(spec, variant) names either process may run: the variants of the last chain's specs
    that take no ``index_from`` and feed no other spec's, except those marked ``with_main``, in
    spec order. Empty with one chain."""
    if len(chains) < 2:
        return []
    feeds = {s.index_from for c in chains for s in c if s.index_from}
    return [
        (s.name, v.name)
        for s in chains[-1]
        if s.index_from is None and s.name not in feeds
        for v in s.variants
        if (v.quick or not quick) and not v.with_main
    ]


SECONDS_FILE = "replicate-seconds.json"


def _seconds_path() -> Path:
    from bayesres.perf import cache_dir

    return cache_dir() / SECONDS_FILE


def last_seconds(*, quick: bool = False) -> dict[str, float]:
    """Seconds per analysis folder in this machine's last replicate (full or ``quick``); empty
    when there was none or the file cannot be read (it is only a scheduling hint)."""
    try:
        data = json.loads(_seconds_path().read_text())
        got = data.get("quick" if quick else "full", {})
        return {str(k): float(v) for k, v in got.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def record_seconds(runs: Sequence[SpecRun], *, quick: bool = False) -> None:
    """Keep each finished analysis's seconds for :func:`last_seconds` (best effort, atomic)."""
    from bayesres.io import atomic_write_text

    path = _seconds_path()
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    mode = "quick" if quick else "full"
    kept = data.get(mode) if isinstance(data.get(mode), dict) else {}
    data[mode] = kept | {r.folder: round(float(r.seconds), 2) for r in runs if r.ok}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True))
    except OSError:
        pass


def longest_first(
    shared: Sequence[tuple[str, str]], seconds: dict[str, float]
) -> list[tuple[str, str]]:
    """The shared (spec, variant) pairs, longest in ``seconds`` first: with two processes drawing
    from one queue, longest-first is the classic rule that keeps one from finishing long after
    the other. Pairs never timed come first, in spec order."""
    return sorted(shared, key=lambda item: -seconds.get(f"{item[0]}_{item[1]}", math.inf))


def _drain(
    work: Any, specs: dict[str, Spec], *, out: Path, quick: bool, seed: int, on_step: Any
) -> list[tuple[str, list[SpecRun]]]:
    """Run shared variants from the ``work`` queue until it is empty."""
    import queue as queue_mod

    done = []
    while True:
        try:
            name, variant = work.get_nowait()
        except queue_mod.Empty:
            return done
        runs = run_spec(
            specs[name], out=out, quick=quick, seed=seed, variants=[variant], main=False,
            on_step=on_step,
        )  # fmt: skip
        done.append((name, runs))


def _merge(by_spec: dict[str, list[SpecRun]], name: str, runs: list[SpecRun], spec: Spec) -> None:
    """Add ``runs`` of spec ``name``, keeping the main analysis first and the variants in order."""
    order = {None: -1} | {v.name: i for i, v in enumerate(spec.variants)}
    merged = by_spec.get(name, []) + list(runs)
    by_spec[name] = sorted(merged, key=lambda r: order.get(r.variant, len(order)))


def _light(run: SpecRun) -> SpecRun:
    """What the report needs from a run made in another process (figures are already saved)."""
    if run.result is not None:
        run.result.figures = {}
        run.result.idata = None
        run.result.extra = {}
    return run


def _run_chain(
    chain: Sequence[Spec],
    out: str,
    quick: bool,
    seed: int,
    queue: Any = None,
    work: Any = None,
    shared_specs: Sequence[Spec] = (),
) -> list[tuple[str, list[SpecRun]]]:
    """Worker-process entry: run one chain of specs, then shared variants from ``work``, report
    each step on ``queue``; returns (spec name, its runs) per spec run here."""
    from bayesres.perf import configure_cache

    configure_cache()
    if queue is not None:  # warnings go to the parent's console as one line, as the CLI shows them

        def one_line(message: Any, *args: Any, **kwargs: Any) -> None:
            queue.put(("warning", " ".join(str(message).split())))

        warnings.showwarning = one_line

    def step(run: SpecRun) -> None:
        if queue is not None:
            state = gate_status(run, quick=quick)
            queue.put(("step", run.folder, run.seconds, state, run.error))

    upstream: dict[str, Any] = {}
    done: list[tuple[str, list[SpecRun]]] = []
    for spec in chain:
        got = run_spec(spec, out=Path(out), quick=quick, seed=seed, upstream=upstream, on_step=step)
        if got and got[0].ok:
            upstream[spec.name] = got[0].result
        done.append((spec.name, got))
    if work is not None:
        specs = {s.name: s for s in shared_specs}
        done += _drain(work, specs, out=Path(out), quick=quick, seed=seed, on_step=step)
    return [(name, [_light(r) for r in runs]) for name, runs in done]


def _default_jobs() -> int:
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def replicate(
    out: str | Path = "bayesres-replicate",
    *,
    quick: bool = False,
    seed: int = 0,
    specs: Sequence[str | Path | Spec] = REPLICATE_SPECS,
    progress: bool = True,
    jobs: int | None = None,
) -> Replication:
    """Run every spec (and its variants) in order, save each, write the summary report.

    ``jobs``: processes for the independent spec chains (default 2 with >= 2 cores, else 1).
    """
    from bayesres.perf import configure_cache

    configure_cache()  # before the first pymc import: compiled models persist across runs
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    loaded = [s if isinstance(s, Spec) else load_spec(s) for s in specs]
    n_total = sum(1 + sum(1 for v in s.variants if v.quick or not quick) for s in loaded)
    rep = Replication(out=out, quick=quick, seed=seed)
    if quick:
        rep.skipped = [f"{s.name}_{v.name}" for s in loaded for v in s.variants if not v.quick]
    chains = chains_of(loaded)
    jobs = _default_jobs() if jobs is None else max(1, int(jobs))
    console = _progress_console(progress)
    t0 = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
    ) as bar:
        task = bar.add_task("replicate", total=n_total)

        def show(folder: str, seconds: float, state: str, error: str | None) -> None:
            status = {
                "error": f"[red]error[/] {error}",
                "FAILED": "[red]gates FAILED[/]",
                "not passed (smoke)": "[yellow]gates not passed (expected in a smoke run)[/]",
            }.get(state, "[green]ok[/]")
            bar.console.print(f"{folder:<28} {seconds:6.1f}s  {status}")
            bar.advance(task)

        def on_step(run: SpecRun) -> None:
            show(run.folder, run.seconds, gate_status(run, quick=quick), run.error)

        by_spec: dict[str, list[SpecRun]] = {}
        if jobs > 1 and len(chains) > 1:
            by_spec = _run_parallel(chains, out=out, quick=quick, seed=seed, bar=bar,
                                    task=task, show=show, on_step=on_step)  # fmt: skip
        else:
            for chain in chains:
                _run_here(chain, out=out, quick=quick, seed=seed, bar=bar, task=task,
                          on_step=on_step, into=by_spec)  # fmt: skip
        for spec in loaded:  # report order = spec order, whichever process ran it
            rep.runs.extend(by_spec.get(spec.name, []))
        if len(rep.runs) != n_total:  # every planned analysis must reach the report
            raise RuntimeError(f"replicate ran {n_total} analyses but collected {len(rep.runs)}")
    rep.seconds = time.perf_counter() - t0
    record_seconds(rep.runs, quick=quick)
    from bayesres.report import render_replication_report

    render_replication_report(rep)
    return rep


def _run_here(
    chain: Sequence[Spec],
    *,
    out: Path,
    quick: bool,
    seed: int,
    bar: Any,
    task: Any,
    on_step: Callable[[SpecRun], None],
    into: dict[str, list[SpecRun]],
    shared: Sequence[tuple[str, str]] = (),
) -> None:
    """Run ``chain`` here, leaving out the ``shared`` (spec, variant) pairs."""
    upstream: dict[str, Any] = {}
    for spec in chain:
        bar.update(task, description=spec.name)
        skip = {v for n, v in shared if n == spec.name}
        mine = [v.name for v in spec.variants if v.name not in skip]
        runs = run_spec(
            spec, out=out, quick=quick, seed=seed, upstream=upstream, on_step=on_step,
            variants=mine if skip else True,
        )  # fmt: skip
        if runs and runs[0].ok:
            upstream[spec.name] = runs[0].result
        _merge(into, spec.name, runs, spec)


def _run_parallel(
    chains: list[list[Spec]],
    *,
    out: Path,
    quick: bool,
    seed: int,
    bar: Any,
    task: Any,
    show: Callable[..., None],
    on_step: Callable[[SpecRun], None],
) -> dict[str, list[SpecRun]]:
    """The last chain (paper 003's DID, the heaviest) here, the others in one worker process;
    then both draw the shared variants (:func:`shared_variants`) from one queue."""
    import multiprocessing as mp
    import queue as queue_mod
    import threading
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")  # no fork of a process that has threads and compiled code
    manager = ctx.Manager()
    q = manager.Queue()
    stop = threading.Event()

    def pump() -> None:  # the worker's steps and warnings onto the console as they happen
        while not stop.is_set() or not q.empty():
            try:
                kind, *item = q.get(timeout=0.2)
            except queue_mod.Empty:
                continue
            if kind == "warning":
                bar.console.print(f"warning: {item[0]}", markup=False, highlight=False)
            else:
                show(*item)

    pumper = threading.Thread(target=pump, daemon=True)
    pumper.start()
    by_spec: dict[str, list[SpecRun]] = {}
    shared = longest_first(shared_variants(chains, quick=quick), last_seconds(quick=quick))
    work = manager.Queue()
    for item in shared:
        work.put(item)
    specs = {s.name: s for c in chains for s in c}
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            futures = [
                pool.submit(_run_chain, c, str(out), quick, seed, q, work, chains[-1])
                for c in chains[:-1]
            ]
            _run_here(chains[-1], out=out, quick=quick, seed=seed, bar=bar, task=task,
                      on_step=on_step, into=by_spec, shared=shared)  # fmt: skip
            bar.update(task, description="shared variants")
            for name, runs in _drain(work, specs, out=out, quick=quick, seed=seed, on_step=on_step):
                _merge(by_spec, name, runs, specs[name])
            bar.update(task, description="waiting for the other process")
            for f in futures:
                for name, runs in f.result():
                    _merge(by_spec, name, runs, specs[name])
    finally:
        stop.set()
        pumper.join()
        manager.shutdown()
    return by_spec
