"""Time the hierarchical Bayesian DID fit: total wall (import + validate + build + compile +
sampling + gates + aggregation), split into compile and sampling, with the diagnostics.

Usage: python benchmarks/bench_did_bayes.py [--dataset ecommerce_panel|mpdta] [--draws 1000]
       [--chains 4] [--tune 1000] [--seed 0] [--att-prior hierarchical] [--leads 4]
       [--cold]   (fresh PYTENSOR base_compiledir, i.e. an empty compile cache)

Run it in a fresh interpreter (it is one): the wall time is what a user waits for. Target for
ecommerce_panel with the defaults (4 chains x 1000 draws): <= 60 s on 2 cores.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", default="ecommerce_panel", choices=["ecommerce_panel", "mpdta"])
    ap.add_argument("--draws", type=int, default=None, help="default: did.run's (DID_DRAWS)")
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--att-prior", default="hierarchical")
    ap.add_argument("--leads", type=int, default=4)
    ap.add_argument("--target-accept", type=float, default=0.95, help="as did.run starts")
    ap.add_argument("--cold", action="store_true", help="use an empty compile cache")
    args = ap.parse_args()
    if args.cold:
        flags = os.environ.get("PYTENSOR_FLAGS", "")
        tmp = tempfile.mkdtemp(prefix="bench_did_")
        os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (flags, f"base_compiledir={tmp}") if f)

    from bayesres.config import SamplerSettings
    from bayesres.did import DID_DRAWS, bayes_quantities, bundled_panel
    from bayesres.did.bayes import fit_did
    from bayesres.summary import summarise_draws

    t_import = time.perf_counter() - T_START
    panel, _ = bundled_panel(args.dataset)
    settings = SamplerSettings.make(
        draws=args.draws or DID_DRAWS,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        target_accept=args.target_accept,
    )
    t0 = time.perf_counter()
    res, design = fit_did(
        panel,
        settings=settings,
        att_prior=args.att_prior,
        leads=args.leads,
        derived=lambda idata, dz: bayes_quantities(idata, dz)[0],
    )
    t_fit = time.perf_counter() - t0
    q, _, _ = bayes_quantities(res.idata, design)
    summ = summarise_draws({k: v for k, v in q.items() if k == "ATT" or "tier[" in k}, method="b")
    total = time.perf_counter() - T_START
    rep = res.report
    print(
        f"dataset {args.dataset}: {design.n_obs} obs, {len(design.cells)} ATT cells, "
        f"{len(design.leads)} leads, {len(design.units)} units, tiers {list(design.tiers)}"
    )
    print(
        f"settings: {args.chains} chains x {settings.draws} draws (+{args.tune} tune), "
        f"cpu {os.cpu_count()}, load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"imports {t_import:.1f} s | fit {t_fit:.1f} s (compile {res.seconds.get('compile', 0):.1f}"
        f" s, sampling {res.seconds.get('sample', 0):.1f} s, attempts {res.attempts}, "
        f"target_accept {res.target_accept}) | TOTAL wall {total:.1f} s"
    )
    print(
        f"diagnostics: divergences {rep.divergences}, R-hat max {rep.r_hat_max:.4f}, "
        f"ESS bulk min {rep.ess_bulk_min:.0f}, ESS tail min {rep.ess_tail_min:.0f}, "
        f"E-BFMI min {rep.bfmi_min:.2f}, passed {rep.passed} {rep.messages} worst {rep.worst}"
    )
    print(
        summ[
            ["quantity", "estimate", "std_error", "lower", "upper", "r_hat", "ess_bulk"]
        ].to_string(index=False)
    )


if __name__ == "__main__":
    main()
