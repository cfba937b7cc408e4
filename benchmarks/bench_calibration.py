"""Wall time per coverage replication (OLS family, one Bayesian method) and 1 -> 2 Dask workers.

Run: MPLBACKEND=Agg .venv/bin/python benchmarks/bench_calibration.py [--reps 200] [--bayes-reps 20]
Prints numbers only (no assertions). Times include Dask start-up and, for the Bayesian method,
one nutpie compile per worker process; the per-replication figures from the store exclude them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from bayesres.calibrate import run_coverage


def _study(
    out: Path, *, workers: int, reps: int, methods: str, **kw: object
) -> tuple[float, pd.DataFrame]:
    t0 = time.perf_counter()
    run_coverage(
        ["S2"], reps=reps, out=out, methods=methods, workers=workers, seed=1, figures=False, **kw
    )
    wall = time.perf_counter() - t0
    return wall, pd.read_csv(out / "replications.csv")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--bayes-reps", type=int, default=20)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cal-"))
    print(f"study S2, customs38 design; folder {tmp}")
    for methods, reps, kw in [
        ("ols", a.reps, {}),
        ("wild-bootstrap", max(a.reps // 4, 10), {}),
        ("bayes-hier-normal", a.bayes_reps, {"draws": 500, "tune": 500, "chains": 2}),
    ]:
        walls = {}
        for w in (0, 1, 2):
            wall, rec = _study(tmp / f"{methods}-{w}", workers=w, reps=reps, methods=methods, **kw)
            walls[w] = wall
            per = rec.groupby(["rep", "method"])["seconds"].sum().groupby("method").median()
            print(
                f"{methods:18s} workers={w}  R={reps:4d}  wall {wall:7.2f} s  "
                f"({wall / reps * 1000:8.1f} ms/rep incl. start-up)  compute per rep: "
                + ", ".join(f"{m} {v * 1000:.1f} ms" for m, v in per.items())
            )
        print(f"{methods:18s} speed-up 1 -> 2 Dask workers: {walls[1] / walls[2]:.2f}x")


if __name__ == "__main__":
    main()
