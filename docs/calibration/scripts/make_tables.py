"""Merge the per-method-group coverage stores into one table + markdown (partial rounds included).

Usage: python docs/calibration/scripts/make_tables.py STUDY_DIR TITLE OUT.md [did|reg [PREAMBLE.md]]
STUDY_DIR holds one store per method group (each made by ``bayesres calibrate coverage --out``);
the table uses every finished replication, so a study stopped mid-round reports the reps reached.
No-pool / hierarchical rows of a store fitted with x centred globally (``--centre global``, or a
store made before the option existed) are labelled "<method> (global centring)"; the current
default is within-tier centring (regression.bayes).
"""

import json
import sys
from pathlib import Path

import pandas as pd

from bayesres.calibrate import coverage as cv
from bayesres.calibrate.plots import plot_coverage
from bayesres.calibrate.store import ReplicationStore

root = Path(sys.argv[1])
title = sys.argv[2]
md_path = Path(sys.argv[3])
did = len(sys.argv) > 4 and sys.argv[4] == "did"
preamble = Path(sys.argv[5]).read_text().strip() + "\n\n" if len(sys.argv) > 5 else ""
tables, wall = [], []
for sub in sorted(p for p in root.iterdir() if (p / "study.json").exists()):
    ident = json.loads((sub / "study.json").read_text())
    rec = ReplicationStore(sub, identity=ident).load()
    if not len(rec):
        continue
    if not did and ident.get("centre", "global") == "global":
        # no-pool / hierarchical fits with x centred at the global mean: stores made before the
        # centre option (no key; the default was global then) or with --centre global
        glob = rec["method"].isin(cv.CENTRED_METHODS)
        rec.loc[glob, "method"] = rec.loc[glob, "method"] + " (global centring)"
    if did:
        from bayesres.calibrate.did_coverage import did_coverage_table as tab
    else:
        tab = cv.coverage_table
    tables.append(tab(rec))
    # wall seconds per replication and method (sum over quantities; Bayesian rows carry the fit
    # time split over quantities in the regression study, the whole fit in the DID study)
    per = rec.groupby(["method", "scenario", "rep"])["seconds"]
    s = per.sum() if not did else per.max()
    if did:
        s = s.where(~s.index.get_level_values(0).str.startswith("bayes"), per.max())
        s = s.where(s.index.get_level_values(0).str.startswith("bayes"), per.sum())
    wall.append(s.groupby("method").agg(["median", "mean", "count"]))
if did:
    from bayesres.calibrate.did_coverage import DID_METHODS

    table = pd.concat(tables, ignore_index=True)
    order = {m: i for i, m in enumerate(DID_METHODS)}
    table = (
        table.assign(_o=table["method"].map(order))
        .sort_values(["scenario", "_o", "quantity"], kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )
else:
    table = cv.merge_tables(tables)
table.to_csv(root / "coverage.csv", index=False)
w = pd.concat(wall)
w.to_csv(root / "seconds_per_replication.csv")
reps = table.groupby(["method", "scenario"])["reps"].max().unstack()
note = preamble + (
    f"Reps reached per method and scenario:\n\n{reps.to_markdown()}\n\n"
    f"Seconds per replication (wall, one worker, shared 2-core box under load):\n\n{w.round(3).to_markdown()}\n"
)
md_path.write_text(cv.coverage_markdown(table, title=title, note=note))
print(reps)
print(w.round(3))
paths = plot_coverage(table, root / "figures")
print([(p.name, p.stat().st_size) for p in paths])
