"""Diagnostic gates applied to every MCMC fit, on parameters and on reported derived quantities.

R-hat < 1.01, bulk and tail ESS >= 400, 0 divergences, E-BFMI > 0.3, Pareto-k < 0.7 where LOO is
computed (methods.md section 4). A failing fit is reported with ``passed = False`` and the failing
checks named; ``strict`` turns that into ``DiagnosticsFailedError`` (exit code 3).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bayesres import config
from bayesres.errors import ConvergenceWarning, DiagnosticsFailedError

__all__ = ["GateReport", "check_gates", "posterior_arrays"]


@dataclass
class GateReport:
    r_hat_max: float = math.nan
    ess_bulk_min: float = math.nan
    ess_tail_min: float = math.nan
    divergences: int = 0
    bfmi_min: float = math.nan
    pareto_k_max: float | None = None
    passed: bool = True
    messages: list[str] = field(default_factory=list)
    worst: dict[str, str] = field(default_factory=dict)
    target_accept: float | None = None
    n_draws: int = 0
    extended: bool = False  # sampling.fit(extend=True) ran the chains twice as long
    convergence_checked: bool = True  # False: R-hat / ESS not computed (check_gates)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {
            k: d[k]
            for k in (
                "r_hat_max",
                "ess_bulk_min",
                "ess_tail_min",
                "divergences",
                "bfmi_min",
                "pareto_k_max",
                "passed",
                "messages",
            )
        } | {"worst": self.worst, "target_accept": self.target_accept}

    def add_pareto_k(self, k_max: float | None, *, limit: float | None = None) -> None:
        """Gate the largest Pareto k-hat of a LOO computed after sampling (k >= limit fails)."""
        if k_max is None or not math.isfinite(k_max):
            return
        limit = config.PARETO_K_MAX if limit is None else limit
        self.pareto_k_max = float(k_max)
        if k_max >= limit:
            self.messages.append(f"Pareto k {k_max:.2f} >= {limit}")
            self.passed = False

    def enforce(self, *, strict: bool, label: str = "fit") -> None:
        if self.passed:
            return
        text = f"{label} failed its diagnostic gates: " + "; ".join(self.messages)
        if strict:
            raise DiagnosticsFailedError(
                text, hint="Increase --draws, or see the diagnostics section of the report."
            )
        warnings.warn(text, ConvergenceWarning, stacklevel=2)


def posterior_arrays(idata: Any, var_names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Posterior variables flattened to {name[i,j]: (chain, draw)} arrays."""
    post = idata["posterior"] if not hasattr(idata, "posterior") else idata.posterior
    out: dict[str, np.ndarray] = {}
    names = list(var_names) if var_names is not None else list(post.data_vars)
    for name in names:
        da = post[name]
        arr = np.asarray(da.values, dtype=float)
        if arr.ndim == 2:
            out[name] = arr
            continue
        extra_dims = da.dims[2:]
        flat = arr.reshape(arr.shape[0], arr.shape[1], -1)
        coords = [
            list(map(str, da.coords[d].values))
            if d in da.coords
            else [str(i) for i in range(da.sizes[d])]
            for d in extra_dims
        ]
        labels = [
            ",".join(c)
            for c in np.array(np.meshgrid(*coords, indexing="ij")).reshape(len(coords), -1).T
        ]
        for j, lab in enumerate(labels):
            out[f"{name}[{lab}]"] = flat[:, :, j]
    return out


def check_gates(
    idata: Any,
    *,
    var_names: Sequence[str] | None = None,
    derived: Mapping[str, np.ndarray] | None = None,
    pareto_k: np.ndarray | None = None,
    rhat_max: float = config.RHAT_MAX,
    ess_min: float = config.ESS_MIN,
    bfmi_min: float = config.BFMI_MIN,
    pareto_k_max: float = config.PARETO_K_MAX,
    convergence: bool = True,
) -> GateReport:
    """Compute the gates on posterior variables (``var_names``, default all) and ``derived`` draws.

    ``convergence=False`` checks the sampler's own signals only (divergences, E-BFMI) and leaves
    R-hat and ESS unset (NaN, not gated): for fits whose chains are pooled rather than reported
    one by one, such as the index-draw refits, where those per-element statistics were most of
    the time of each fit.
    """
    from arviz_stats.base import array_stats

    arrays = posterior_arrays(idata, var_names) if convergence else {}
    if derived and convergence:  # derived draws get R-hat / ESS only
        arrays.update({k: np.asarray(v, dtype=float) for k, v in derived.items()})
    rep = GateReport(convergence_checked=convergence)
    rhats, bulks, tails = {}, {}, {}
    for name, x in arrays.items():
        if x.ndim != 2 or np.allclose(x, x.flat[0]):
            continue  # constants (e.g. zero-sum pinned elements) carry no information
        rhats[name] = float(array_stats.rhat(x))
        bulks[name] = float(array_stats.ess(x, method="bulk"))
        tails[name] = float(array_stats.ess(x, method="tail", prob=(0.05, 0.95)))
    if rhats:
        worst_r = max(rhats, key=lambda k: rhats[k] if np.isfinite(rhats[k]) else np.inf)
        worst_b = min(bulks, key=lambda k: bulks[k] if np.isfinite(bulks[k]) else -np.inf)
        worst_t = min(tails, key=lambda k: tails[k] if np.isfinite(tails[k]) else -np.inf)
        rep.r_hat_max, rep.ess_bulk_min, rep.ess_tail_min = (
            rhats[worst_r],
            bulks[worst_b],
            tails[worst_t],
        )
        rep.worst = {"r_hat": worst_r, "ess_bulk": worst_b, "ess_tail": worst_t}
    stats = idata["sample_stats"] if "sample_stats" in idata.children else None
    if stats is not None and "diverging" in stats:
        rep.divergences = int(np.asarray(stats["diverging"].values).sum())
    if stats is not None and "energy" in stats:
        energy = np.asarray(stats["energy"].values, dtype=float)
        rep.bfmi_min = float(np.min(array_stats.bfmi(energy)))
    post = idata["posterior"]
    rep.n_draws = int(post.sizes.get("chain", 1) * post.sizes.get("draw", 0))
    if pareto_k is not None and np.size(pareto_k):
        rep.pareto_k_max = float(np.nanmax(pareto_k))
    msgs = []
    if convergence and not (rep.r_hat_max < rhat_max):
        msgs.append(f"R-hat {rep.r_hat_max:.3f} >= {rhat_max} ({rep.worst.get('r_hat')})")
    if convergence and not (rep.ess_bulk_min >= ess_min):
        msgs.append(f"bulk ESS {rep.ess_bulk_min:.0f} < {ess_min} ({rep.worst.get('ess_bulk')})")
    if convergence and not (rep.ess_tail_min >= ess_min):
        msgs.append(f"tail ESS {rep.ess_tail_min:.0f} < {ess_min} ({rep.worst.get('ess_tail')})")
    if rep.divergences > 0:
        msgs.append(f"{rep.divergences} divergent transitions")
    if np.isfinite(rep.bfmi_min) and rep.bfmi_min <= bfmi_min:
        msgs.append(f"E-BFMI {rep.bfmi_min:.2f} <= {bfmi_min}")
    if rep.pareto_k_max is not None and rep.pareto_k_max >= pareto_k_max:
        msgs.append(f"Pareto k {rep.pareto_k_max:.2f} >= {pareto_k_max}")
    rep.messages = msgs
    rep.passed = not msgs
    return rep
