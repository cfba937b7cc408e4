"""Time 50 refits of the hierarchical tier model over index draws with one compiled model.

Usage: python benchmarks/bench_regression_refits.py [--m 50] [--draws 250] [--seed 0]
Data: the bundled SYNTHETIC customs38 (Table 2 design) with index draws made by a Bayesian bootstrap
of the entropy weights (Dirichlet unit weights through the exact kernel), so the script needs no
other analysis. Prints the compile time, the refit time and the slope sd inflation.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def index_draws(m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from bayesres import datasets
    from bayesres.index.entropy import entropy_from_normalised, normalise
    from bayesres.validate import IndicatorSpec

    df = datasets.load("customs38")
    spec = IndicatorSpec.from_frame(datasets.indicators("customs38"))
    z = normalise(df[list(spec.indicators)].to_numpy(float), np.array(spec.directions))
    pi = np.random.default_rng(seed).dirichlet(np.ones(len(df)), size=m) * len(df)
    _, _, w = entropy_from_normalised(z, unit_weights=pi)
    _, _, w0 = entropy_from_normalised(z)
    return z @ w0, w @ z.T


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", type=int, default=50)
    ap.add_argument("--draws", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    from bayesres import datasets
    from bayesres.config import SamplerSettings
    from bayesres.regression import bayes, outcome, propagate
    from bayesres.validate import validate_cross_section

    plug, draws = index_draws(a.m, a.seed)
    df = datasets.load("customs38").assign(resilience_index=plug)
    df["export_ratio"] = outcome.export_ratio(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = validate_cross_section(
            df,
            source="customs38",
            outcome="export_ratio",
            predictor="resilience_index",
            controls=["nonag_density"],
            unit="city",
            tier="tier",
            log=True,
            reference_tier="other",
        )
    data = bayes.prepare(cs)
    s = SamplerSettings.make(draws=a.draws, tune=300, chains=2, seed=a.seed)
    t0 = time.perf_counter()
    model, res = bayes.fit_variant(data, variant="hierarchical", likelihood="normal", settings=s)
    t_first = time.perf_counter() - t0
    out = propagate.refit_over_draws(
        cs, draws, model=model, settings=s, plugin=bayes.raw_draws(res.idata, data)
    )
    print(f"first fit (compile + sample): {t_first:.1f} s")
    print(
        f"{a.m} refits with one compiled model: {out['seconds']:.1f} s "
        f"({out['seconds'] / a.m:.3f} s each), divergences {out['divergences']}"
    )
    print(out["inflation"].to_string(index=False))


if __name__ == "__main__":
    main()
