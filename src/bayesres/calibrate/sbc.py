"""Simulation-based calibration (Talts et al. 2018, arXiv 1804.06788; Modrák et al. 2023).

Per simulation: draw (theta*, y) from the calibration model's prior simulator, fit the model to y
(nutpie, compiled once per process, data swapped), thin the posterior to ``L`` draws spread
evenly over the chains, and record the rank of theta* among them for every checked quantity
(parameters, derived quantities and the log-likelihood test quantity). Ties are broken at random
(seeded), so ranks are uniform on 0..L exactly when the model is calibrated.

Uniformity test (one per quantity): the simultaneous ECDF test of Säilynoja, Bürkner & Vehtari
(2022, Stat. Comput. 32:32, arXiv 2103.10522). With N simulations the scaled ECDF N F(z_i) of the
fractional ranks at z_i = i / (L + 1) is Binomial(N, z_i) under uniformity; the statistic

    gamma = min_i 2 min{Bin_cdf(N F(z_i)), 1 - Bin_cdf(N F(z_i) - 1)}

is small when the ECDF leaves its pointwise band anywhere. Its null distribution is simulated
(seeded, ``n_null`` uniform rank samples of the same N and L), which gives the p-value
P(gamma_null <= gamma) and the simultaneous 1 - alpha band drawn in the ECDF-difference plots.
A quantity passes when p > alpha / m (Bonferroni over the m checked quantities of the model), so
that a calibrated model passes as a whole with probability >= 1 - alpha.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesres.calibrate.models import CalibrationModel, built_model, get_model

__all__ = [
    "sbc_ranks",
    "thin_draws",
    "gamma_statistic",
    "gamma_null",
    "simultaneous_band",
    "uniformity_table",
    "sbc_replication",
    "SBC_COLUMNS",
]

SBC_COLUMNS = ["quantity", "n_sims", "statistic", "p_value", "passed"]
ALPHA = 0.05
N_NULL = 4000

# --------------------------------------------------------------------------- numpy kernels


def thin_draws(x: np.ndarray, n_keep: int) -> np.ndarray:
    """``n_keep`` draws spread evenly over the chains of a (chain, draw) array."""
    x = np.asarray(x, float)
    if x.ndim == 1:
        x = x[None, :]
    chains, draws = x.shape[:2]
    per = [n_keep // chains + (1 if c < n_keep % chains else 0) for c in range(chains)]
    if max(per) > draws:
        raise ValueError(f"cannot keep {n_keep} draws from {chains} x {draws}")
    out = [x[c, np.linspace(0, draws - 1, k).round().astype(int)] for c, k in enumerate(per)]
    return np.concatenate(out)


def sbc_ranks(truth: float, draws: np.ndarray, rng: np.random.Generator) -> int:
    """Rank of ``truth`` among ``draws`` (0..L), ties broken uniformly at random."""
    draws = np.asarray(draws, float)
    below = int(np.sum(draws < truth))
    ties = int(np.sum(draws == truth))
    return below + (int(rng.integers(0, ties + 1)) if ties else 0)


def _ecdf_counts(ranks: np.ndarray, n_ranks: int) -> np.ndarray:
    """N F(z_i) for z_i = i / n_ranks, i = 1..n_ranks-1: #ranks < i (ranks in 0..n_ranks-1)."""
    ranks = np.asarray(ranks, int)
    hist = np.apply_along_axis(np.bincount, -1, ranks, minlength=n_ranks)
    return np.cumsum(hist, axis=-1)[..., :-1]


def gamma_statistic(ranks: np.ndarray, n_ranks: int) -> np.ndarray:
    """Säilynoja et al. (2022) gamma for integer ranks in 0..n_ranks-1 (last axis = simulations)."""
    ranks = np.asarray(ranks, int)
    n = ranks.shape[-1]
    z = np.arange(1, n_ranks) / n_ranks
    k = _ecdf_counts(ranks, n_ranks)
    lo = stats.binom.cdf(k, n, z)
    hi = stats.binom.sf(k - 1, n, z)
    return np.min(2.0 * np.minimum(lo, hi), axis=-1)


def gamma_null(n_sims: int, n_ranks: int, *, n_null: int = N_NULL, seed: int = 0) -> np.ndarray:
    """Null distribution of gamma: ``n_null`` samples of N uniform ranks (seeded)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_sims, n_ranks]))
    return gamma_statistic(rng.integers(0, n_ranks, size=(n_null, n_sims)), n_ranks)


def simultaneous_band(
    n_sims: int, n_ranks: int, *, alpha: float = ALPHA, null: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, lower, upper): the simultaneous 1 - alpha band for the ECDF at z_i = i / n_ranks."""
    null = gamma_null(n_sims, n_ranks) if null is None else null
    g = float(np.quantile(null, alpha))
    z = np.arange(1, n_ranks) / n_ranks
    lower = stats.binom.ppf(g / 2, n_sims, z) / n_sims
    upper = stats.binom.ppf(1 - g / 2, n_sims, z) / n_sims
    return z, lower, upper


def uniformity_table(
    ranks: Mapping[str, np.ndarray], *, n_ranks: int, alpha: float = ALPHA
) -> pd.DataFrame:
    """One row per quantity: ``quantity, n_sims, statistic, p_value, passed`` (CONTRACT.md)."""
    rows = []
    m = max(len(ranks), 1)
    nulls: dict[int, np.ndarray] = {}
    for name, r in ranks.items():
        r = np.asarray(r, int)
        n = len(r)
        if n not in nulls:
            nulls[n] = gamma_null(n, n_ranks)
        g = float(gamma_statistic(r, n_ranks))
        p = float((np.sum(nulls[n] <= g) + 1) / (len(nulls[n]) + 1))
        rows.append(
            {"quantity": name, "n_sims": n, "statistic": g, "p_value": p, "passed": p > alpha / m}
        )
    return pd.DataFrame(rows, columns=SBC_COLUMNS)


# --------------------------------------------------------------------------- one simulation


def _posterior_params(idata: Any, var_names: Sequence[str], n_keep: int) -> dict[str, np.ndarray]:
    post = idata["posterior"]
    out = {}
    for v in var_names:
        arr = np.asarray(post[v].values, float)  # (chain, draw, ...)
        flat = arr.reshape(arr.shape[0], arr.shape[1], -1)
        kept = np.stack([thin_draws(flat[..., j], n_keep) for j in range(flat.shape[-1])], -1)
        out[v] = kept.reshape((n_keep,) + arr.shape[2:])
    return out


def sbc_replication(
    model: str | CalibrationModel,
    sim: int,
    *,
    seed: int,
    n_ranks: int,
    draws: int,
    tune: int,
    chains: int = 1,
) -> dict[str, Any]:
    """One SBC simulation: a flat record ``{sim, rank[q]..., ess_min, divergences, seconds}``.

    Seeds derive from ``(seed, sim)`` only, so results do not depend on which worker runs them.
    """
    from arviz_stats.base import array_stats

    from bayesres.config import SamplerSettings
    from bayesres.sampling import fit

    t0 = time.perf_counter()
    cm = get_model(model) if isinstance(model, str) else model
    ss = np.random.SeedSequence([int(seed), int(sim)])
    sim_ss, fit_ss, tie_ss = ss.spawn(3)
    params, data = cm.simulate(np.random.default_rng(sim_ss))
    settings = SamplerSettings(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=1,
        seed=int(fit_ss.generate_state(1)[0]),
        target_accept=0.9,
    )
    res = fit(
        built_model(cm),
        settings=settings,
        key=cm.compile_key,
        data=data,
        retry=False,
        gate_vars=cm.var_names,
    )
    n_keep = n_ranks - 1
    post = _posterior_params(res.idata, cm.var_names, n_keep)
    q_true = cm.quantities(params, data)
    q_post = cm.quantities(post, data)
    rng = np.random.default_rng(tie_ss)
    rec: dict[str, Any] = {"sim": int(sim)}
    for name in q_true:
        rec[f"rank[{name}]"] = sbc_ranks(float(q_true[name]), q_post[name], rng)
    ess = []
    for v in cm.var_names:
        arr = np.asarray(res.idata["posterior"][v].values, float)
        flat = arr.reshape(arr.shape[0], arr.shape[1], -1)
        ess += [float(array_stats.ess(flat[..., j], method="bulk")) for j in range(flat.shape[-1])]
    rec["ess_min"] = float(np.nanmin(ess)) if ess else math.nan
    rec["divergences"] = int(res.report.divergences)
    rec["seconds"] = time.perf_counter() - t0
    return rec


def sbc_chunk(model: str, sims: Sequence[int], **kw: Any) -> list[dict[str, Any]]:
    """Several simulations in one task (cuts scheduler overhead)."""
    return [sbc_replication(model, s, **kw) for s in sims]


def ranks_from_records(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    frame = frame.sort_values("sim")
    cols = [c for c in frame.columns if c.startswith("rank[")]
    return {c[5:-1]: frame[c].to_numpy(int) for c in cols}


# --------------------------------------------------------------------------- study


def _sbc_task(sims: Sequence[int], **kw: Any) -> list[dict[str, Any]]:
    return sbc_chunk(kw.pop("model"), sims, **kw)


def run_sbc(
    model: str,
    *,
    sims: int,
    out: str | Any,
    seed: int = 0,
    n_ranks: int = 100,
    draws: int = 500,
    tune: int = 500,
    chains: int = 1,
    scheduler: str | None = None,
    workers: int = 2,
    chunk: int = 5,
    progress: bool = False,
    max_new: int | None = None,
    figures: bool = True,
) -> pd.DataFrame | None:
    """Run (or resume) an SBC study into ``out``; write ``sbc.csv`` and figures when complete.

    Returns the uniformity table, or ``None`` when stopped early by ``max_new``.
    """
    from pathlib import Path

    from bayesres.calibrate.engine import execute
    from bayesres.calibrate.plots import plot_sbc_ecdf
    from bayesres.calibrate.store import ReplicationStore
    from bayesres.io import atomic_write_csv

    cm = get_model(model)
    out = Path(out)
    n_keep = n_ranks - 1
    if draws * chains < n_keep:
        from bayesres.errors import SpecError

        raise SpecError(
            f"{chains} x {draws} draws cannot be thinned to {n_keep} ranked draws",
            hint="Raise --draws or lower --ranks.",
        )
    store = ReplicationStore(
        out,
        identity={
            "kind": "sbc",
            "model": cm.name,
            "seed": seed,
            "n_ranks": n_ranks,
            "draws": draws,
            "tune": tune,
            "chains": chains,
        },
    )
    done = store.done()
    pending = [s for s in range(sims) if f"sim{s:06d}" not in done]
    finished = execute(
        pending,
        _sbc_task,
        lambda s, rec: store.write(f"sim{s:06d}", [rec]),
        task_kwargs={
            "model": cm.name,
            "seed": seed,
            "n_ranks": n_ranks,
            "draws": draws,
            "tune": tune,
            "chains": chains,
        },
        scheduler=scheduler,
        workers=workers,
        chunk=chunk,
        progress=progress,
        max_new=max_new,
        label=f"SBC {cm.name}",
    )
    if finished < len(pending):
        return None
    records = store.consolidate(["sim"])
    records = records[records["sim"] < sims]
    ranks = ranks_from_records(records)
    table = uniformity_table(ranks, n_ranks=n_ranks)
    atomic_write_csv(table, out / "sbc.csv")
    if figures:
        plot_sbc_ecdf(ranks, out / "figures", n_ranks=n_ranks, table=table)
    return table
