"""Where the time goes in W1 and W2: a per-phase breakdown, cold and warm compile cache.

    .venv/bin/python benchmarks/profile_workloads.py [--only W1,W2] [--quick] [--sampler nutpie]

Each column is one fresh process (benchmarks/_workloads.py --profile): imports of bayesres
(with configure_pytensor), pymc, nutpie and arviz, data (load + validation + design), model
build, compile (sampling.compile_model: nutpie through bayesres._nutpie_cache), sampling, post (gates inside bayesres.sampling.fit),
summaries (bayesres quantities + ESS/R-hat), plotting (an arviz forest plot saved to PNG) and
saving (netCDF). "startup + rest" is the process wall time not covered by a phase (interpreter
start, module-level imports of the worker, exit).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_all import run_job  # noqa: E402

ORDER = (
    "import bayesres",
    "import pymc",
    "import nutpie",
    "import arviz",
    "import",
    "data",
    "build",
    "compile",
    "sample",
    "post",
    "summaries",
    "plotting",
    "saving",
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", default="W1,W2")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sampler", default="nutpie", choices=("nutpie", "pymc", "numpyro"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=int, default=1800)
    args = ap.parse_args(argv)
    cols: dict[str, dict] = {}
    for wl in [w.strip().upper() for w in args.only.split(",") if w.strip()]:
        d = Path(tempfile.mkdtemp(prefix=f"bayesres-prof-{wl}-"))
        try:
            for mode in ("cold", "warm"):
                print(f"{wl} {mode} ...", flush=True)
                r = run_job(f"{wl}.bayesres", d, args, ["--profile"])
                if "error" in r:
                    print("   ", r["error"])
                cols[f"{wl} {mode}"] = r
        finally:
            shutil.rmtree(d, ignore_errors=True)

    from rich.console import Console
    from rich.table import Table

    t = Table(title="bayesres phase breakdown (seconds; one fresh process per column)")
    t.add_column("phase")
    for c in cols:
        t.add_column(c, justify="right")
        t.add_column("%", justify="right")
    for name in (*ORDER, "startup + rest", "wall"):
        cells = []
        for r in cols.values():
            ph = r.get("phases", {})
            if name == "wall":
                v = r["wall_s"]
            elif name == "startup + rest":
                v = r["wall_s"] - sum(ph.values()) if ph else None
            else:
                v = ph.get(name)
            pct = "" if v is None or name == "wall" else f"{100 * v / r['wall_s']:.0f}"
            cells += ["-" if v is None else f"{v:.2f}", pct]
        if any(c not in ("-", "") for c in cells[::2]):
            t.add_row(name, *cells)
    Console(width=160).print(t)
    for name, r in cols.items():
        if "peak_mb" in r:
            print(f"{name}: peak {r['peak_mb']:.0f} MB, divergences {r.get('divergences')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
