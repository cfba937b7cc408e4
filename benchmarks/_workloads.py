"""One benchmark job in a fresh process: ``python benchmarks/_workloads.py JOB --json OUT [...]``.

JOB is ``<workload>.<tool>`` (see ``JOBS``). The parent (run_all.py / profile_workloads.py) sets
``PYTENSOR_FLAGS=base_compiledir=<dir>`` so that cold / warm compile caches are under its control,
times the whole process from outside, and reads the JSON this writes: phase seconds, sampling
seconds, min bulk ESS, divergences, max R-hat, peak resident memory and a hash of the draws.
Every random path is seeded (``--seed``). Workload definitions are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import sys
import time
import warnings
from typing import Any

T_START = time.perf_counter()

CONTROLS = ("agg", "open", "invest", "tec", "market")
# W3: 3,000 units x 20 years, 4 tiers, 5 treated cohorts + never treated (scaled by --w3-units)
W3_COHORTS = {0: 0.40, 6: 0.10, 9: 0.12, 12: 0.16, 15: 0.22}
W3_TIERS = {"first": 0.10, "new_first": 0.20, "second": 0.30, "other": 0.40}

JOBS = (
    "W1.bayesres",
    "W1.bambi",
    "W1.pymc",
    "W2.bayesres",
    "W2.bambi",
    "W2.pymc",
    "W2.pyfixest",
    "W2.moderndid",
    "W3.bayesres",
    "W3.pyfixest",
    "P.bayesres",
    "P.pyfixest",
    "I.bayesres",
    "R.bayesres",
    "R.pymc",
)


# --------------------------------------------------------------------------- measurement


class Phases:
    """Wall seconds per named phase (``with ph("build"): ...``), in order."""

    def __init__(self) -> None:
        self.s: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.s[name] = self.s.get(name, 0.0) + time.perf_counter() - t0


def peak_mb() -> float:
    """Peak RSS of this process and its (waited-for) children, MiB (Linux reports KiB)."""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024**2
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(me, kids) * scale


def diagnostics(dt: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """Min bulk ESS, max R-hat (over every posterior variable not excluded), divergences."""
    import arviz as az
    import numpy as np

    post = dt["posterior"].to_dataset()
    names = [v for v in post.data_vars if v not in exclude]
    post = post[names]
    ess = az.ess(post, method="bulk")
    rhat = az.rhat(post)
    ess_min = min(float(np.nanmin(ess[v].values)) for v in names)
    rhat_max = max(float(np.nanmax(rhat[v].values)) for v in names)
    div = int(dt["sample_stats"]["diverging"].sum()) if "sample_stats" in dt.children else -1
    n = int(post.sizes["chain"] * post.sizes["draw"])
    return {"ess_min": ess_min, "rhat_max": rhat_max, "divergences": div, "n_draws": n}


def draws_md5(dt: Any, var: str) -> str:
    import numpy as np

    arr = np.ascontiguousarray(dt["posterior"][var].values, dtype=np.float64)
    return hashlib.md5(arr.tobytes()).hexdigest()[:10]


def sampling_time(dt: Any) -> float | None:
    attrs = dt["posterior"].attrs
    v = attrs.get("sampling_time")
    return float(v) if v is not None else None


def quiet() -> None:
    warnings.simplefilter("ignore")
    import logging

    for name in ("pymc", "pytensor", "bambi", "numba", "jax", "formulae"):
        logging.getLogger(name).setLevel(logging.ERROR)


# --------------------------------------------------------------------------- settings / data


def mcmc(args: argparse.Namespace) -> dict[str, int]:
    if args.quick:
        return {"draws": 200, "tune": 300, "chains": 2}
    return {"draws": args.draws, "tune": args.tune, "chains": args.chains}


def settings(args: argparse.Namespace, **over: Any) -> Any:
    from bayesres.config import SamplerSettings

    target_accept = over.pop("target_accept", 0.9)
    m = {**mcmc(args), **over}
    return SamplerSettings(
        draws=m["draws"],
        tune=m["tune"],
        chains=m["chains"],
        cores=2,
        target_accept=target_accept,
        sampler=args.sampler,
        seed=args.seed,
    )


def w1_data() -> tuple[Any, Any]:
    """customs38 cross-section: log export ratio on the exact entropy index + nonag_density."""
    import numpy as np

    from bayesres import datasets
    from bayesres.index.entropy import entropy_from_normalised, normalise
    from bayesres.regression import bayes, outcome
    from bayesres.validate import IndicatorSpec, validate_cross_section

    df = datasets.load("customs38")
    spec = IndicatorSpec.from_frame(datasets.indicators("customs38"))
    z = normalise(df[list(spec.indicators)].to_numpy(float), np.array(spec.directions))
    _, _, w0 = entropy_from_normalised(z)
    df = df.assign(resilience_index=z @ w0)
    df["export_ratio"] = outcome.export_ratio(df)
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
    return cs, bayes.prepare(cs)


def w1_frame(data: Any) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            "y": data.y,
            "x": data.x,
            "c": data.c[:, 0],
            "tier": [data.tiers[k] for k in data.tier],
        }
    )


def w2_panel() -> Any:
    from bayesres.datasets import load
    from bayesres.validate import validate_panel

    return validate_panel(
        load("ecommerce_panel"),
        source="ecommerce_panel",
        unit="city",
        time="year",
        cohort="cohort",
        outcome="resi",
        tier="tier",
        controls=CONTROLS,
    )


def w2_frame(panel: Any) -> Any:
    """ecommerce_panel with a 0/1 ``did`` column and standardised outcome / controls."""
    f = panel.frame.copy()
    f["did"] = panel.treated.astype(float)
    for c in ("resi", *CONTROLS):
        v = f[c].astype(float)
        f[c] = (v - v.mean()) / v.std()
    return f


def w3_panel(units: int, seed: int) -> Any:
    import numpy as np

    from bayesres.simulate.panel import simulate_staggered_panel
    from bayesres.validate import validate_panel

    def split(shares: dict, n: int) -> dict:
        counts = {k: int(np.floor(v * n)) for k, v in shares.items()}
        first = next(iter(counts))
        counts[first] += n - sum(counts.values())
        return counts

    df, _ = simulate_staggered_panel(
        n_units=units,
        n_periods=20,
        cohorts=split(W3_COHORTS, units),
        tiers=split(W3_TIERS, units),
        seed=seed,
        rho=0.3,
    )
    return validate_panel(
        df, source="W3", unit="unit", time="period", cohort="cohort", outcome="y", tier="tier"
    )


# --------------------------------------------------------------------------- jobs


def _fit_bayes(model: Any, key: Any, s: Any, ph: Phases, **kw: Any) -> Any:
    from bayesres import sampling

    if s.sampler == "nutpie":
        with ph("compile"):
            sampling.compile_model(model, key=key)
    with ph("fit"):
        res = sampling.fit(model, settings=s, key=key, **kw)
    # fit() = sample + gates (post) when compiled above; attribute the non-sampling rest to post
    sample = res.seconds.get("sample", 0.0)
    ph.s["sample"] = sample
    ph.s["post"] = ph.s.pop("fit") - sample - res.seconds.get("compile", 0.0)
    if s.sampler != "nutpie":
        ph.s["compile"] = 0.0  # pm.sample compiles inside "sample"
    return res


def job_w1_bayesres(args, ph: Phases, out: dict) -> None:
    with ph("import"):
        from bayesres.regression import bayes
    with ph("data"):
        _, data = w1_data()
    with ph("build"):
        model = bayes.build_model(data, variant="hierarchical", likelihood="normal")
    key = bayes.model_key(data, variant="hierarchical", likelihood="normal")
    s = settings(args)
    res = _fit_bayes(model, key, s, ph, derived=lambda idata: bayes.raw_draws(idata, data))
    with ph("summaries"):
        draws = bayes.raw_draws(res.idata, data)
        bayes.summarise(draws, label="hierarchical")
        bayes.contrast_table(draws)
        out.update(diagnostics(res.idata))
    out.update(sampling_s=ph.s["sample"], attempts=res.attempts, md5=draws_md5(res.idata, "b"))
    out["target_accept"] = res.target_accept
    if args.profile:
        _plot_and_save(res.idata, ["a", "b", "gamma", "sigma"], ph)


def job_w1_bambi(args, ph: Phases, out: dict) -> None:
    with ph("import"):
        import bambi as bmb
    with ph("data"):
        _, data = w1_data()
        df = w1_frame(data)
    with ph("build"):
        m = bmb.Model("y ~ x + c + (1 + x | tier)", df)
    with ph("sample"):  # compile + sample (pm.sample through Bambi)
        dt = m.fit(**mcmc(args), random_seed=args.seed, progressbar=False)
    with ph("summaries"):
        out.update(diagnostics(dt))
    out["sampling_s"] = sampling_time(dt)
    out["sampler"] = dt["posterior"].attrs.get("inference_library")


def job_w1_pymc(args, ph: Phases, out: dict) -> None:
    """Naive centred model, pm.sample with its defaults (whatever sampler PyMC picks)."""
    with ph("import"):
        import pymc as pm
    with ph("data"):
        _, data = w1_data()
    with ph("build"):
        with pm.Model(coords={"tier": list(data.tiers)}) as m:
            mu_a = pm.Normal("mu_a", 0, 10)
            mu_b = pm.Normal("mu_b", 0, 10)
            tau_a = pm.HalfNormal("tau_a", 5)
            tau_b = pm.HalfNormal("tau_b", 5)
            a = pm.Normal("a", mu_a, tau_a, dims="tier")
            b = pm.Normal("b", mu_b, tau_b, dims="tier")
            g = pm.Normal("gamma", 0, 10)
            sigma = pm.HalfNormal("sigma", 5)
            mu = a[data.tier] + b[data.tier] * data.x + g * data.c[:, 0]
            pm.Normal("y", mu, sigma, observed=data.y)
    with ph("sample"), m:
        dt = pm.sample(**mcmc(args), random_seed=args.seed, progressbar=False)
    with ph("summaries"):
        out.update(diagnostics(dt))
    out["sampling_s"] = sampling_time(dt)
    out["sampler"] = dt["posterior"].attrs.get("inference_library")


def job_w2_bayesres(args, ph: Phases, out: dict, panel: Any = None) -> None:
    with ph("import"):
        from bayesres.did import bayes as dbayes
        from bayesres.did import bayes_quantities
        from bayesres.summary import summarise_draws
    with ph("data"):
        panel = w2_panel() if panel is None else panel(args)
    with ph("build"):
        model, design = dbayes.build_did_model(panel)
    s = settings(args, target_accept=0.95)  # where `bayesres did` starts (did.run)
    res = _fit_bayes(model, design.key(), s, ph, gate_vars=dbayes._gate_vars(model))
    with ph("summaries"):
        cell_q, imp_q, _ = bayes_quantities(res.idata, design)
        summarise_draws({**cell_q, **imp_q}, method="bayes", hdi_prob=0.95)
        out.update(diagnostics(res.idata, exclude=("tau_imp",)))
    out.update(sampling_s=ph.s["sample"], attempts=res.attempts, md5=draws_md5(res.idata, "tau"))
    out["target_accept"] = res.target_accept
    out["n_obs"] = design.n_obs
    out["n_cells"] = len(design.cells)
    if args.profile:
        _plot_and_save(res.idata, ["theta", "tau", "sigma"], ph)


def job_w2_bambi(args, ph: Phases, out: dict) -> None:
    with ph("import"):
        import bambi as bmb
    with ph("data"):
        df = w2_frame(w2_panel())
    fml = "resi ~ did + " + " + ".join(CONTROLS) + " + C(year) + C(tier):C(year) + (1|city)"
    with ph("build"):
        m = bmb.Model(fml, df)
    with ph("sample"):
        dt = m.fit(**mcmc(args), random_seed=args.seed, progressbar=False)
    with ph("summaries"):
        out.update(diagnostics(dt))
    out["sampling_s"] = sampling_time(dt)
    out["sampler"] = dt["posterior"].attrs.get("inference_library")


def job_w2_pymc(args, ph: Phases, out: dict) -> None:
    """Naive centred TWFE-style DID: city effects, year and tier-year effects, one did term."""
    with ph("import"):
        import numpy as np
        import pandas as pd
        import pymc as pm
    with ph("data"):
        df = w2_frame(w2_panel())
        ci, cities = pd.factorize(df["city"], sort=True)
        yi, years = pd.factorize(df["year"], sort=True)
        ki, tiers = pd.factorize(df["tier"], sort=True)
        x = df[list(CONTROLS)].to_numpy(float)
    coords = {"city": list(cities), "year": list(years), "tier": list(tiers), "ctrl": CONTROLS}
    with ph("build"):
        with pm.Model(coords=coords) as m:
            mu = pm.Normal("mu", 0, 10)
            s_a = pm.HalfNormal("s_a", 5)
            alpha = pm.Normal("alpha", mu, s_a, dims="city")
            gam = pm.Normal("gamma", 0, 1, dims="year")
            s_d = pm.HalfNormal("s_d", 1)
            delta = pm.Normal("delta", 0, s_d, dims=("tier", "year"))
            beta = pm.Normal("beta", 0, 1, dims="ctrl")
            tau = pm.Normal("tau", 0, 1)
            sigma = pm.HalfNormal("sigma", 5)
            eta = alpha[ci] + gam[yi] + delta[ki, yi] + pm.math.dot(x, beta)
            pm.Normal("y", eta + tau * df["did"].to_numpy(), sigma, observed=df["resi"].to_numpy())
    with ph("sample"), m:
        dt = pm.sample(**mcmc(args), random_seed=args.seed, progressbar=False)
    with ph("summaries"):
        out.update(diagnostics(dt))
    out["sampling_s"] = sampling_time(dt)
    out["sampler"] = dt["posterior"].attrs.get("inference_library")
    del np


def _twfe(panel: Any, ph: Phases, out: dict, controls: tuple[str, ...]) -> None:
    with ph("import"):
        import pyfixest as pf
    f = panel.frame.copy()
    f["D"] = panel.treated.astype(float)
    unit, tcol, y = panel.unit, panel.time, panel.outcome
    fml = f"{y} ~ " + " + ".join(["D", *controls]) + f" | {unit} + {tcol}"
    with ph("first_fit"):
        pf.feols(fml, data=f, vcov={"CRV1": unit})
    with ph("fit"):
        for _ in range(5):
            fit = pf.feols(fml, data=f, vcov={"CRV1": unit})
    ph.s["fit"] /= 5
    out["estimate"] = float(fit.coef()["D"])
    out["per_fit_s"] = ph.s["fit"]


def job_w2_pyfixest(args, ph: Phases, out: dict) -> None:
    with ph("data"):
        panel = w2_panel()
    _twfe(panel, ph, out, CONTROLS)


def job_w2_moderndid(args, ph: Phases, out: dict) -> None:
    with ph("import"):
        from bayesres.did import freq
    with ph("data"):
        panel = w2_panel()
    with ph("fit"):
        res = freq.callaway_santanna(panel)
    out["per_fit_s"] = ph.s["fit"]
    out["estimate"] = str(type(res).__name__)


def job_w3_bayesres(args, ph: Phases, out: dict) -> None:
    """W3 at the draws ``bayesres did`` uses (DID_DRAWS = 1,500 per chain): at 1,000 the
    tier-year shock scale s_d, whose posterior sits near 0 on this simulator (no shocks),
    misses R-hat 1.01 (1.0133) and did.run would sample it again with twice the draws."""
    from bayesres.did import DID_DRAWS

    out["units"] = args.w3_units
    if not args.quick:
        args.draws = DID_DRAWS
    out["draws"] = args.draws
    job_w2_bayesres(args, ph, out, panel=lambda a: w3_panel(a.w3_units, a.seed))


def job_w3_pyfixest(args, ph: Phases, out: dict) -> None:
    with ph("data"):
        panel = w3_panel(args.w3_units, args.seed)
    out["units"] = args.w3_units
    _twfe(panel, ph, out, ())


def job_p_bayesres(args, ph: Phases, out: dict) -> None:
    with ph("import"):
        from bayesres.did.placebo import placebo
    with ph("data"):
        panel = w2_panel()
    with ph("warmup"):
        placebo(panel, draws=5, seed=1, controls=CONTROLS)
    with ph("placebo"):
        res = placebo(panel, draws=args.placebo_draws, seed=args.seed, controls=CONTROLS)
    out.update(draws=args.placebo_draws, placebo_s=res.seconds, p_value=res.p_value)


def job_p_pyfixest(args, ph: Phases, out: dict) -> None:
    """A loop of ``--loop`` pyfixest TWFE refits on permuted cohorts, extrapolated to --draws."""
    import numpy as np
    import pandas as pd

    with ph("import"):
        import pyfixest as pf
    with ph("data"):
        panel = w2_panel()
        f = panel.frame.copy()
        f["D"] = panel.treated.astype(float)
        codes, cities = pd.factorize(f["city"], sort=True)
        g_unit = f.groupby(codes)["cohort"].first().to_numpy()
    fml = "resi ~ " + " + ".join(["D", *CONTROLS]) + " | city + year"
    with ph("warmup"):
        pf.feols(fml, data=f, vcov={"CRV1": "city"})
    rng = np.random.default_rng(args.seed)
    year = f["year"].to_numpy()
    with ph("loop"):
        for _ in range(args.loop):
            g = rng.permutation(g_unit)[codes]
            f["D"] = ((g > 0) & (year >= g)).astype(float)
            pf.feols(fml, data=f, vcov={"CRV1": "city"}).coef()
    per = ph.s["loop"] / args.loop
    out.update(loop=args.loop, draws=args.placebo_draws, per_fit_s=per)
    out["placebo_s"] = per * args.placebo_draws
    out["extrapolated"] = f"from {args.loop} fits"


def job_i_bayesres(args, ph: Phases, out: dict) -> None:
    with ph("import"):
        from bayesres import datasets
        from bayesres.index import prepare
        from bayesres.index.bootstrap import bootstrap_weights
        from bayesres.index.ewm import (
            arrays_from_table,
            exact_entropy,
            rank_draws,
            row_scores,
            unit_mean,
        )
    with ph("data"):
        table = prepare(datasets.load("ecommerce_panel"), dataset="ecommerce_panel")
        arr = arrays_from_table(table)
        ex = exact_entropy(arr)
    with ph("warmup"):
        bootstrap_weights(ex.z, arr, draws=100, seed=0)
    with ph("bootstrap"):
        w = bootstrap_weights(ex.z, arr, draws=args.index_draws, seed=args.seed)
        row_scores(w, ex.z, arr.group)
        rank_draws(w[:, 0, :] @ unit_mean(ex.z.T, arr.unit_codes, arr.n_units))
    out.update(draws=args.index_draws, bootstrap_s=ph.s["bootstrap"])


def _index_draws(m: int, seed: int) -> Any:
    import numpy as np

    from bayesres import datasets
    from bayesres.index.entropy import entropy_from_normalised, normalise
    from bayesres.validate import IndicatorSpec

    df = datasets.load("customs38")
    spec = IndicatorSpec.from_frame(datasets.indicators("customs38"))
    z = normalise(df[list(spec.indicators)].to_numpy(float), np.array(spec.directions))
    pi = np.random.default_rng(seed).dirichlet(np.ones(len(df)), size=m) * len(df)
    _, _, w = entropy_from_normalised(z, unit_weights=pi)
    return w @ z.T


def _r_settings(args: argparse.Namespace) -> dict[str, int]:
    return {"draws": 100, "tune": 200, "chains": 2} if args.quick else args.r_mcmc


def job_r_bayesres(args, ph: Phases, out: dict) -> None:
    with ph("import"):
        from bayesres.regression import bayes, propagate
    with ph("data"):
        cs, data = w1_data()
        draws = _index_draws(args.refits, args.seed)
    s = settings(args, **_r_settings(args))
    with ph("first_fit"):
        model, res = bayes.fit_variant(
            data, variant="hierarchical", likelihood="normal", settings=s
        )
    with ph("refits"):
        r = propagate.refit_over_draws(
            cs, draws, model=model, settings=s, plugin=bayes.raw_draws(res.idata, data)
        )
    out.update(refits=args.refits, divergences=int(r["divergences"]))
    out["refit_s"] = ph.s["refits"]
    out["r_s"] = ph.s["refits"] + ph.s["first_fit"]


def job_r_pymc(args, ph: Phases, out: dict) -> None:
    """pm.sample after pm.set_data for each index draw (recompiles every call), from --r-loop."""
    import numpy as np

    with ph("import"):
        import pymc as pm

        from bayesres.regression import bayes
    with ph("data"):
        cs, data = w1_data()
        draws = _index_draws(args.refits, args.seed)[: args.r_loop]
    with ph("build"):
        model = bayes.build_model(data, variant="hierarchical", likelihood="normal")
    rs = _r_settings(args)
    with ph("loop"):
        for m in range(len(draws)):
            d = bayes.prepare(cs, x=np.log(draws[m]) if cs.log else draws[m])
            with model:
                pm.set_data(d.pm_data())
                pm.sample(
                    draws=rs["draws"],
                    tune=rs["tune"],
                    chains=rs["chains"],
                    random_seed=args.seed + m,
                    progressbar=False,
                    quiet=True,
                    target_accept=0.9,
                )
    per = ph.s["loop"] / len(draws)
    out.update(refits=args.refits, per_fit_s=per, extrapolated=f"from {len(draws)} fits")
    out["r_s"] = per * args.refits


def _plot_and_save(idata: Any, var_names: list[str], ph: Phases) -> None:
    import tempfile

    with ph("plotting"):
        import arviz as az
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = [v for v in var_names if v in idata["posterior"]]
        pc = az.plot_forest(idata, var_names=names, combined=True)
        with tempfile.TemporaryDirectory() as d:
            pc.savefig(os.path.join(d, "forest.png"))
        plt.close("all")
    with ph("saving"), tempfile.TemporaryDirectory() as d:
        idata.to_netcdf(os.path.join(d, "posterior.nc"))


# --------------------------------------------------------------------------- main


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("job", choices=JOBS)
    ap.add_argument("--json", required=True, help="where to write the result")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sampler", default="nutpie", choices=("nutpie", "pymc", "numpyro"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--fastmath", choices=("off", "on"), default="off")
    ap.add_argument("--w3-units", type=int, default=3000)
    ap.add_argument("--placebo-draws", type=int, default=1000)
    ap.add_argument("--loop", type=int, default=20)
    ap.add_argument("--index-draws", type=int, default=10_000)
    ap.add_argument("--refits", type=int, default=50)
    ap.add_argument("--r-loop", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="time imports, plotting and saving")
    a = ap.parse_args(argv)
    a.r_mcmc = {"draws": 250, "tune": 300, "chains": 2}  # bench_regression_refits' settings
    return a


def _profile_imports(ph: Phases) -> None:
    with ph("import bayesres"):
        import bayesres  # noqa: F401
        from bayesres import sampling

        sampling.configure_pytensor()
    with ph("import pymc"):
        import pymc  # noqa: F401
    with ph("import nutpie"):
        import nutpie  # noqa: F401
    with ph("import arviz"):
        import arviz  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    quiet()
    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.sampler == "numpyro":  # parallel chains on CPU need devices before JAX is imported
        os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
    if args.fastmath == "on":
        # measure what fast-math costs: keep it on despite bayesres' configure_pytensor()
        flags = os.environ.get("PYTENSOR_FLAGS", "")
        os.environ["PYTENSOR_FLAGS"] = ",".join(x for x in (flags, "numba__fastmath=True") if x)
        import pytensor

        from bayesres import sampling

        pytensor.config.numba__fastmath = True
        sampling.configure_pytensor = lambda: None
    ph = Phases()
    if args.profile:
        _profile_imports(ph)
    out: dict[str, Any] = {"job": args.job, "quick": args.quick, "sampler": args.sampler}
    fn = globals()["job_" + args.job.lower().replace(".", "_")]
    t0 = time.perf_counter()
    fn(args, ph, out)
    out["inside_s"] = time.perf_counter() - t0
    out["process_s"] = time.perf_counter() - T_START
    out["phases"] = ph.s
    out["peak_mb"] = peak_mb()
    import pytensor

    out["compiledir"] = str(pytensor.config.base_compiledir) if "pytensor" in sys.modules else ""
    out["fastmath"] = bool(pytensor.config.numba__fastmath)
    with open(args.json, "w") as fh:
        json.dump(out, fh, default=str)


if __name__ == "__main__":
    main()
