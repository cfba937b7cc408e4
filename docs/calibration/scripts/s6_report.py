"""Paired S6 / S1 / S2 comparison of the diagnosis variants against the study's own fits."""

import glob

import numpy as np
import pandas as pd

pd.set_option("display.width", 220)
main = pd.concat(
    [
        pd.read_csv(f)
        for f in glob.glob(
            "docs/calibration/coverage_customs38/bayes-hier-normal/replications/*.csv"
        )
    ]
)
main = main.assign(variant="shipped (global x)")[
    ["scenario", "variant", "rep", "quantity", "truth", "estimate", "lower", "upper"]
]
parts = []
for f in sorted(glob.glob("docs/calibration/s6/diag_*.csv")):
    try:
        parts.append(pd.read_csv(f))
    except FileNotFoundError:
        pass
diag = pd.concat(parts)
# reproducibility: 'global' in the diag == the main run on the same reps
g = diag[diag.variant == "global"].merge(
    main, on=["scenario", "rep", "quantity"], suffixes=("", "_m")
)
print(
    "global vs main max |diff| lower/upper:",
    np.abs(g.lower - g.lower_m).max(),
    np.abs(g.upper - g.upper_m).max(),
    len(g),
)
diag = diag[diag.variant != "global"][
    ["scenario", "variant", "rep", "quantity", "truth", "estimate", "lower", "upper"]
]
for sc in ["S1", "S2", "S6"]:
    reps = set(diag[(diag.scenario == sc) & (diag.variant == "within")].rep)
    d = pd.concat(
        [
            main[(main.scenario == sc) & main.rep.isin(reps)],
            diag[(diag.scenario == sc) & diag.rep.isin(reps)],
        ]
    )
    d["cov"] = (d.lower <= d.truth) & (d.truth <= d.upper)
    d["w"] = d.upper - d.lower
    d["e"] = d.estimate - d.truth
    t = d.groupby(["quantity", "variant"]).agg(
        R=("cov", "size"),
        coverage=("cov", "mean"),
        width=("w", "mean"),
        bias=("e", "mean"),
        rmse=("e", lambda e: np.sqrt((e**2).mean())),
    )
    t["mcse"] = np.sqrt(t.coverage * (1 - t.coverage) / t.R)
    print("\n==", sc, "paired reps", len(reps))
    print(t.round(3).to_string())
