"""Coverage of the Bayesian simple ATT on simulated staggered panels (issue 5), many seeds.

The design of the slow test ``tests/sampling/test_did_bayes.py``: simulate_staggered_panel with
60 units x 6 periods, cohorts {never: 24, 3: 12, 4: 12, 5: 12}, tiers {a: 30, b: 30}, the
default effects (tau = m_k (1 + 0.5 e) + shift_g, m = 0.5 / 1.5, shifts 0.5 / 0.25 / 0), data
seed 100 + s, sampler seed s, ``bayesres did``'s settings (4 chains x DID_DRAWS, target_accept
0.95 with the ladder). One JSON line per seed (appended, so a stopped run resumes): truth,
posterior mean / sd / 95% HDI of ATT, divergences, and the BJS imputation estimate and SE on the
same panel.

    python docs/calibration/scripts/did_sim_coverage.py --seeds 100 \
        --out docs/calibration/did_sim_coverage/default.jsonl [--fit-kwargs '{"att_prior": "independent"}']
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--fit-kwargs", default="{}", help="extra fit_did keywords, as JSON")
    args = ap.parse_args()

    from arviz_stats.base import array_stats

    from bayesres.config import SamplerSettings
    from bayesres.did import DID_DRAWS, bayes_quantities
    from bayesres.did.bayes import fit_did
    from bayesres.did.freq import bjs_imputation
    from bayesres.simulate.panel import simulate_staggered_panel
    from bayesres.validate import validate_panel

    kw = json.loads(args.fit_kwargs)
    done = set()
    if args.out.exists():
        done = {json.loads(line)["seed"] for line in args.out.read_text().splitlines() if line}
    with args.out.open("a") as fh:
        for s in range(args.seeds):
            if 100 + s in done:
                continue
            t0 = time.perf_counter()
            df, truth = simulate_staggered_panel(
                n_units=60,
                n_periods=6,
                cohorts={0: 24, 3: 12, 4: 12, 5: 12},
                tiers={"a": 30, "b": 30},
                seed=100 + s,
            )
            panel = validate_panel(
                df, source="sim", unit="unit", time="period", cohort="cohort", outcome="y",
                tier="tier",
            )
            settings = SamplerSettings.make(draws=DID_DRAWS, chains=4, seed=s, target_accept=0.95)
            res, design = fit_did(panel, settings=settings, **kw)
            att = np.asarray(bayes_quantities(res.idata, design)[0]["ATT"]).reshape(-1)
            lo, hi = array_stats.hdi(att, prob=0.95)
            bjs = bjs_imputation(panel).overall.iloc[0]
            rec = {
                "seed": 100 + s,
                "truth": truth.att_simple,
                "mean": float(att.mean()),
                "sd": float(att.std()),
                "lo": float(lo),
                "hi": float(hi),
                "covered": bool(lo <= truth.att_simple <= hi),
                "div": int(res.report.divergences),
                "bjs": [float(bjs["estimate"]), float(bjs["std_error"])],
                "secs": time.perf_counter() - t0,
            }
            fh.write(json.dumps(rec) + "\n")
            fh.flush()


if __name__ == "__main__":
    main()
