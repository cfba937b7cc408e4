"""Time 10,000 Bayesian-bootstrap draws of the entropy weights on the SYNTHETIC ecommerce_panel.

248 cities x 10 years x 17 indicators, pooled, Dirichlet over whole cities. Prints seconds for the
weight draws alone and for weights + row scores + unit ranks. Run:
    .venv/bin/python benchmarks/bench_index_bootstrap.py [draws]
"""

from __future__ import annotations

import sys
import time

from bayesres import datasets
from bayesres.index import prepare
from bayesres.index.bootstrap import bootstrap_weights
from bayesres.index.ewm import arrays_from_table, exact_entropy, rank_draws, row_scores, unit_mean


def main(draws: int = 10_000) -> None:
    table = prepare(datasets.load("ecommerce_panel"), dataset="ecommerce_panel")
    arr = arrays_from_table(table)
    ex = exact_entropy(arr)
    bootstrap_weights(ex.z, arr, draws=100, seed=0)  # warm-up
    best_w = best_all = float("inf")
    for rep in range(3):
        t0 = time.perf_counter()
        w = bootstrap_weights(ex.z, arr, draws=draws, seed=rep)
        t1 = time.perf_counter()
        row_scores(w, ex.z, arr.group)
        rank_draws(w[:, 0, :] @ unit_mean(ex.z.T, arr.unit_codes, arr.n_units))
        t2 = time.perf_counter()
        best_w, best_all = min(best_w, t1 - t0), min(best_all, t2 - t0)
    print(f"rows={arr.n_rows} units={arr.n_units} indicators={len(arr.indicators)} draws={draws}")
    print(f"weights: {best_w:.3f} s   weights+scores+ranks: {best_all:.3f} s (best of 3)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
