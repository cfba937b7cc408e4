"""S6 with the frequentist methods fitted two ways: the full model (tier intercepts + slopes,
correctly specified) and the paper's interaction-only model; 500 reps, seeds of the study.

Usage: python docs/calibration/scripts/s6_full_ols.py docs/calibration/s6/s6_frequentist_fits.csv
"""

import sys

import numpy as np
import pandas as pd

from bayesres.calibrate import coverage as cv

des = cv.coverage_design("customs38", seed=0)
sc = cv.SCENARIOS["S6"]
rows = []
for rep in range(500):
    y_ss, boot_ss, _ = cv.scenario_seed(0, "S6", rep).spawn(3)
    y = cv.simulate_y(des, sc, np.random.default_rng(y_ss))
    for fit in ("full", "interaction_only"):
        rr = cv.frequentist_intervals(
            y,
            des,
            fit=fit,
            methods=cv.OLS_METHODS + ("wild-bootstrap",),
            boot_seed=int(boot_ss.generate_state(1)[0]),
        )
        for r in rr:
            r.update(scenario="S6-" + fit, rep=rep, truth=cv.truths(sc)[r["quantity"]])
        rows += rr
t = cv.coverage_table(pd.DataFrame(rows))
t.to_csv(sys.argv[1], index=False)
pd.set_option("display.width", 200)
print(t[t.quantity.str.contains("first")].round(3).to_string())
