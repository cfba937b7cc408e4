"""Time the vectorised staggered placebo against a loop of pyfixest refits (extrapolated).

Usage: python benchmarks/bench_placebo.py [--draws 1000] [--loop 20] [--controls]
Prints the vectorised time for ``draws`` reassignments on the bundled ecommerce_panel
(248 cities x 10 years), the time of ``loop`` pyfixest refits extrapolated to ``draws``, their
ratio, and the largest |difference| between the two on the looped draws.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from bayesres.datasets import load
from bayesres.did.placebo import placebo
from bayesres.validate import validate_panel

CONTROLS = ("agg", "open", "invest", "tec", "market")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--loop", type=int, default=20)
    ap.add_argument("--controls", action="store_true", help="partial out 003's five controls")
    args = ap.parse_args()
    import pyfixest as pf

    ctrl = CONTROLS if args.controls else ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = validate_panel(
            load("ecommerce_panel"),
            source="ecommerce_panel",
            unit="city",
            time="year",
            cohort="cohort",
            outcome="resi",
            controls=ctrl,
        )
    placebo(panel, draws=5, seed=1, controls=ctrl)  # warm caches
    res = placebo(panel, draws=args.draws, seed=0, controls=ctrl, keep_cohorts=True)
    f = panel.frame.copy()
    codes = pd.factorize(f["city"], sort=True)[0]
    fml = "resi ~ " + " + ".join(["D", *ctrl]) + " | city + year"
    f["D"] = panel.treated.astype(float)
    pf.feols(fml, data=f, vcov={"CRV1": "city"})  # warm numba
    diffs = []
    t0 = time.perf_counter()
    for s in range(args.loop):
        g = res.cohorts[s][codes]
        f["D"] = ((g > 0) & (f["year"].to_numpy() >= g)).astype(float)
        diffs.append(pf.feols(fml, data=f, vcov={"CRV1": "city"}).coef()["D"] - res.estimates[s])
    loop = (time.perf_counter() - t0) / args.loop * args.draws
    print(
        f"panel: {panel.summary()['units']} units x {len(panel.periods)} periods, "
        f"controls: {list(ctrl) or 'none'}"
    )
    print(f"vectorised: {args.draws} draws in {res.seconds:.3f} s")
    print(f"pyfixest loop: {args.loop} refits -> {loop:.1f} s extrapolated to {args.draws}")
    print(f"speed-up: {loop / res.seconds:.0f}x; max |diff| {np.max(np.abs(diffs)):.2e}")
    print(
        f"actual {res.actual:.6f}, p = {res.p_value:.4f}, placebo mean "
        f"{res.estimates.mean():.6f} sd {res.estimates.std(ddof=1):.6f}"
    )


if __name__ == "__main__":
    main()
