"""Benchmark bayesres against its anchors, each job in a fresh process; print ratios, save a CSV.

    .venv/bin/python benchmarks/run_all.py [--only W1,W2,W3,P,I,R] [--repeats N] [--quick]
                                          [--skip-anchors] [--fastmath] [--sampler nutpie]

bayesres jobs run twice per repeat: cold (a fresh PyTensor ``base_compiledir`` in a temp dir) and
warm (the same dir again). Anchors (Bambi, naive PyMC with its defaults, pyfixest, moderndid) run
once per repeat in their own fresh dir. Reported numbers are medians over repeats. The machine is
shared and noisy: read the ratios (bayesres vs an anchor measured in the same run), not seconds.
Every row goes to benchmarks/results/results.csv with the machine, versions and a timestamp.
See benchmarks/README.md for the workloads and targets.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_workloads.py"
CSV = HERE / "results" / "results.csv"
WORKLOADS = ("W1", "W2", "W3", "P", "I", "R")
VERSIONS = ("bayesres", "pymc", "pytensor", "nutpie", "arviz", "bambi", "numpy", "pyfixest")

# (tool, cold+warm?, is_anchor)
PLAN: dict[str, list[tuple[str, bool, bool]]] = {
    "W1": [("bayesres", True, False), ("bambi", False, True), ("pymc", False, True)],
    "W2": [
        ("bayesres", True, False),
        ("bambi", False, True),
        ("pymc", False, True),
        ("pyfixest", False, True),
        ("moderndid", False, True),
    ],
    "W3": [("bayesres", True, False), ("pyfixest", False, True)],
    "P": [("bayesres", False, False), ("pyfixest", False, True)],
    "I": [("bayesres", False, False)],
    "R": [("bayesres", True, False), ("pymc", False, True)],
}
LABEL = {
    "pymc": "PyMC defaults, naive",
    "bambi": "Bambi formula",
    "pyfixest": "pyfixest TWFE",
    "moderndid": "moderndid CS (via bayesres.did.freq)",
}
FIELDS = [
    "timestamp",
    "workload",
    "tool",
    "cache",
    "repeats",
    "wall_s",
    "sampling_s",
    "compile_s",
    "ess_min",
    "ess_per_s",
    "divergences",
    "rhat_max",
    "peak_mb",
    "metric_s",
    "md5",
    "note",
    "quick",
    "sampler",
    "fastmath",
    "platform",
    "cpu_count",
    "load_avg",
    *[f"v_{p}" for p in VERSIONS],
]


def versions() -> dict[str, str]:
    out = {}
    for p in VERSIONS:
        try:
            out[f"v_{p}"] = version(p)
        except PackageNotFoundError:
            out[f"v_{p}"] = ""
    return out


def run_job(job: str, cachedir: Path, args: argparse.Namespace, extra: list[str]) -> dict:
    """Run one job in a fresh interpreter; return its JSON plus the outside wall time."""
    env = dict(os.environ)
    flags = [f for f in env.get("PYTENSOR_FLAGS", "").split(",") if f]
    flags = [f for f in flags if not f.startswith("base_compiledir")]
    env["PYTENSOR_FLAGS"] = ",".join([*flags, f"base_compiledir={cachedir}"])
    env["BAYESRES_CACHE_DIR"] = str(cachedir)
    env.setdefault("MPLBACKEND", "Agg")
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    cmd = [sys.executable, str(WORKER), job, "--json", str(out), "--seed", str(args.seed)]
    cmd += ["--sampler", args.sampler, *extra]
    if args.quick:
        cmd.append("--quick")
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        rc, err = -9, f"timed out after {args.timeout} s"
    wall = time.perf_counter() - t0
    res: dict[str, Any] = {}
    if rc == 0 and out.stat().st_size:
        res = json.loads(out.read_text())
    else:
        tail = (err or "").strip().splitlines()[-1:] or [""]
        res = {"error": f"rc={rc}: {tail[0][:160]}"}
    out.unlink(missing_ok=True)
    res["wall_s"] = wall
    return res


def median(vals: list[Any]) -> Any:
    vals = [v for v in vals if isinstance(v, int | float)]
    return statistics.median(vals) if vals else None


def summarise(runs: list[dict]) -> dict:
    """Median over repeats of the numeric fields the table shows."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[0].get("error", "failed"), "repeats": 0}
    ph = [r.get("phases", {}) for r in ok]
    row = {
        "repeats": len(ok),
        "wall_s": median([r["wall_s"] for r in ok]),
        "sampling_s": median([r.get("sampling_s") for r in ok]),
        "compile_s": median([p.get("compile") for p in ph]),
        "ess_min": median([r.get("ess_min") for r in ok]),
        "divergences": max((r.get("divergences", 0) or 0) for r in ok)
        if any("divergences" in r for r in ok)
        else None,
        "rhat_max": median([r.get("rhat_max") for r in ok]),
        "peak_mb": max(r.get("peak_mb", 0) for r in ok),
        "md5": ",".join(sorted({r["md5"] for r in ok if r.get("md5")})),
        "fastmath": ok[0].get("fastmath"),
        "sampler_used": ok[0].get("sampler"),
        "raw": ok,
    }
    for key in ("placebo_s", "bootstrap_s", "r_s", "per_fit_s", "refit_s"):
        v = median([r.get(key) for r in ok])
        if v is not None:
            row[key] = v
    if row["ess_min"] and row["wall_s"]:
        row["ess_per_s"] = row["ess_min"] / row["wall_s"]
    notes = [r.get("extrapolated") for r in ok if r.get("extrapolated")]
    row["note"] = notes[0] if notes else ""
    if ok[0].get("attempts", 1) > 1:
        row["note"] += f" target_accept raised to {ok[0].get('target_accept')}"
    return row


def run_workload(wl: str, args: argparse.Namespace) -> dict[tuple[str, str], dict]:
    extra = []
    if wl == "W3":
        extra += ["--w3-units", str(args.w3_units)]
    if wl == "P":
        extra += ["--loop", str(args.loop)]
    results: dict[tuple[str, str], list[dict]] = {}
    variants = [("off", "")]
    if args.fastmath and wl in ("W1", "W2"):
        variants.append(("on", " fastmath=on"))
    for rep in range(args.repeats):
        for tool, cold_warm, anchor in PLAN[wl]:
            if anchor and args.skip_anchors:
                continue
            for fm, tag in variants if tool == "bayesres" else [("off", "")]:
                job = f"{wl}.{tool}"
                d = Path(tempfile.mkdtemp(prefix=f"bayesres-bench-{wl}-"))
                try:
                    fmx = ["--fastmath", fm] if tool == "bayesres" else []
                    modes = ("cold", "warm") if cold_warm else ("cold",)
                    for mode in modes:
                        t = time.strftime("%H:%M:%S")
                        print(f"[{t}] {job}{tag} {mode} (repeat {rep + 1})", flush=True)
                        r = run_job(job, d, args, extra + fmx)
                        if "error" in r:
                            print(f"    ERROR {r['error']}", flush=True)
                        else:
                            print(f"    wall {r['wall_s']:.1f} s", flush=True)
                        results.setdefault((tool + tag, mode), []).append(r)
                finally:
                    shutil.rmtree(d, ignore_errors=True)
    return {k: summarise(v) for k, v in results.items()}


# --------------------------------------------------------------------------- report


def _f(v: Any, fmt: str = "{:.1f}") -> str:
    if v is None or v == "":
        return "-"
    if isinstance(v, float):
        return fmt.format(v)
    return str(v)


def pf(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "FAIL")


def verdicts(wl: str, rows: dict[tuple[str, str], dict], args) -> list[tuple[str, str, str]]:
    """(check, value, PASS/FAIL) for the workload's targets."""
    out: list[tuple[str, str, str]] = []

    def get(tool: str, mode: str) -> dict:
        r = rows.get((tool, mode), {})
        return {} if "error" in r else r

    if wl in ("W1", "W2"):
        cold, warm = get("bayesres", "cold"), get("bayesres", "warm")
        for anchor in ("bambi", "pymc"):
            a = get(anchor, "cold")
            if not a.get("ess_per_s"):
                continue
            for mode, b in (("cold", cold), ("warm", warm)):
                if b.get("ess_per_s"):
                    ratio = b["ess_per_s"] / a["ess_per_s"]
                    ok = ratio >= 5 if anchor == "bambi" else None
                    tgt = " (>= 5x)" if anchor == "bambi" else ""
                    out.append((f"ESS/s {mode} vs {anchor}{tgt}", f"{ratio:.1f}x", pf(ok)))
            if a.get("sampling_s") and warm.get("sampling_s") and warm.get("ess_min"):
                r2 = (warm["ess_min"] / warm["sampling_s"]) / (a["ess_min"] / a["sampling_s"])
                out.append((f"ESS/sampling-s vs {anchor}", f"{r2:.1f}x", "-"))
        if warm:
            out.append(
                ("divergences (0)", str(warm.get("divergences")), pf(warm["divergences"] == 0))
            )
            lim = 10 if wl == "W1" else 30
            out.append(
                (f"warm wall <= {lim} s", f"{warm['wall_s']:.1f} s", pf(warm["wall_s"] <= lim))
            )
        if cold.get("md5") and warm.get("md5"):
            same = cold["md5"] == warm["md5"]
            out.append(("same-seed draws cold == warm", "yes" if same else "no", pf(same)))
        fon = get("bayesres fastmath=on", "warm")
        if fon.get("sampling_s") and warm.get("sampling_s"):
            cost = warm["sampling_s"] / fon["sampling_s"]
            out.append(("sampling fastmath off / on", f"{cost:.2f}", "-"))
            fc = get("bayesres fastmath=on", "cold")
            if fc.get("md5") and fon.get("md5"):
                out.append(
                    (
                        "fastmath=on draws cold == warm",
                        "yes" if fc["md5"] == fon["md5"] else "no",
                        "-",
                    )
                )
    elif wl == "W3":
        warm = get("bayesres", "warm") or get("bayesres", "cold")
        if warm:
            scale = 3000 / args.w3_units
            wall = warm["wall_s"] * (scale if scale != 1 else 1)
            tag = "" if scale == 1 else f" (extrapolated x{scale:.1f} from {args.w3_units} units)"
            out.append(("wall <= 300 s" + tag, f"{wall:.0f} s", pf(wall <= 300)))
            mem = warm["peak_mb"] * (scale if scale != 1 else 1)
            out.append(("peak memory <= 4 GB" + tag, f"{mem:.0f} MB", pf(mem <= 4096)))
            out.append(
                ("divergences (0)", str(warm.get("divergences")), pf(warm["divergences"] == 0))
            )
    elif wl == "P":
        b, a = get("bayesres", "cold"), get("pyfixest", "cold")
        if b.get("placebo_s") is not None:
            out.append(("placebo <= 1 s", f"{b['placebo_s']:.3f} s", pf(b["placebo_s"] <= 1)))
            if a.get("placebo_s"):
                ratio = a["placebo_s"] / b["placebo_s"]
                out.append(("vs pyfixest loop (>= 100x)", f"{ratio:.0f}x", pf(ratio >= 100)))
    elif wl == "I":
        b = get("bayesres", "cold")
        if b.get("bootstrap_s") is not None:
            out.append(
                ("10k bootstrap <= 2 s", f"{b['bootstrap_s']:.2f} s", pf(b["bootstrap_s"] <= 2))
            )
    elif wl == "R":
        w, a = get("bayesres", "warm") or get("bayesres", "cold"), get("pymc", "cold")
        if w.get("r_s") is not None:
            out.append(("50 refits + first fit <= 60 s", f"{w['r_s']:.1f} s", pf(w["r_s"] <= 60)))
            if a.get("r_s"):
                ratio = a["r_s"] / w["r_s"]
                out.append(("vs pm.sample each time", f"{ratio:.1f}x", "-"))
    return out


def metric(wl: str, r: dict) -> Any:
    return {"P": r.get("placebo_s"), "I": r.get("bootstrap_s"), "R": r.get("r_s")}.get(
        wl, r.get("per_fit_s")
    )


def print_tables(all_rows: dict[str, dict], args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=170)
    t = Table(title="bayesres vs anchors (medians; wall = whole fresh process)")
    for col in (
        "work",
        "tool",
        "cache",
        "wall s",
        "sampl. s",
        "compile s",
        "min ESS",
        "ESS/s",
        "div",
        "R-hat",
        "peak MB",
        "metric s",
        "note",
    ):
        t.add_column(col, justify="left" if col in ("work", "tool", "note") else "right")
    for wl, rows in all_rows.items():
        for (tool, mode), r in rows.items():
            if "error" in r:
                t.add_row(wl, tool, mode, *["-"] * 9, r["error"][:40])
                continue
            t.add_row(
                wl,
                LABEL.get(tool, tool),
                mode,
                _f(r["wall_s"]),
                _f(r.get("sampling_s"), "{:.2f}"),
                _f(r.get("compile_s")),
                _f(r.get("ess_min"), "{:.0f}"),
                _f(r.get("ess_per_s"), "{:.1f}"),
                _f(r.get("divergences")),
                _f(r.get("rhat_max"), "{:.3f}"),
                _f(r.get("peak_mb"), "{:.0f}"),
                _f(metric(wl, r), "{:.3f}"),
                r.get("note", ""),
            )
    con.print(t)
    v = Table(title="targets")
    for col in ("work", "check", "value", "result"):
        v.add_column(col)
    for wl, rows in all_rows.items():
        for check, val, res in verdicts(wl, rows, args):
            v.add_row(wl, check, val, res)
    con.print(v)


def append_csv(all_rows: dict[str, dict], args: argparse.Namespace) -> None:
    CSV.parent.mkdir(parents=True, exist_ok=True)
    new = not CSV.exists()
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    common = {
        "timestamp": stamp,
        "quick": args.quick,
        "sampler": args.sampler,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_avg": f"{os.getloadavg()[0]:.1f}",
        **versions(),
    }
    env_notes = " ".join(
        f"{k}={os.environ[k]}" for k in ("NUMBA_OPT", "PYTENSOR_FLAGS") if os.environ.get(k)
    )
    with CSV.open("a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        if new:
            w.writeheader()
        for wl, rows in all_rows.items():
            for (tool, mode), r in rows.items():
                rec = {**common, "workload": wl, "tool": tool, "cache": mode}
                if "error" in r:
                    rec["note"] = r["error"]
                else:
                    rec.update({k: r.get(k) for k in FIELDS if k in r and k not in rec})
                    rec["metric_s"] = metric(wl, r)
                    if wl == "W3":
                        rec["note"] = f"{args.w3_units} units " + (r.get("note") or "")
                if env_notes:  # settings that change the numbers but not the command line
                    rec["note"] = " ".join(filter(None, [rec.get("note") or "", env_notes]))
                for k, val in rec.items():
                    if isinstance(val, float):
                        rec[k] = f"{val:.4g}"
                w.writerow(rec)
    print(f"appended to {CSV.relative_to(HERE.parent)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", default=",".join(WORKLOADS), help="comma list of W1,W2,W3,P,I,R")
    ap.add_argument("--repeats", type=int, default=1, help="median over N repeats")
    ap.add_argument("--quick", action="store_true", help="200 draws / 300 tune / 2 chains")
    ap.add_argument("--skip-anchors", action="store_true")
    ap.add_argument("--fastmath", action="store_true", help="also run W1/W2 with fast-math on")
    ap.add_argument("--sampler", default="nutpie", choices=("nutpie", "pymc", "numpyro"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--w3-units", type=int, default=None, help="3000 (300 with --quick)")
    ap.add_argument("--loop", type=int, default=20, help="pyfixest fits timed for P")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per job")
    ap.add_argument("--no-csv", action="store_true")
    ap.add_argument("--raw", help="also write every job's JSON (phases included) to this file")
    args = ap.parse_args(argv)
    if args.w3_units is None:
        args.w3_units = 300 if args.quick else 3000
    only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    bad = [w for w in only if w not in WORKLOADS]
    if bad:
        ap.error(f"unknown workload(s) {bad}; choose from {','.join(WORKLOADS)}")
    print(
        f"{platform.platform()}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}; "
        + ", ".join(f"{k[2:]} {v}" for k, v in versions().items() if v),
        flush=True,
    )
    all_rows = {wl: run_workload(wl, args) for wl in only}
    print_tables(all_rows, args)
    if args.raw:
        raw = {
            f"{wl} {t} {m}": r.get("raw", r)
            for wl, rows in all_rows.items()
            for (t, m), r in rows.items()
        }
        Path(args.raw).write_text(json.dumps(raw, indent=1, default=str))
    if not args.no_csv:
        append_csv(all_rows, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
