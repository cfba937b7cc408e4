"""Exact LOO refits where PSIS cannot approximate leave-one-out (Pareto k above the gate).

With 38 cities and a 4-city tier, one city can carry enough of its tier's information that
PSIS-LOO's importance weights have a Pareto k near or above 0.7 (paper 001's regression: 0.70 for
one city on some seeds). The standard remedy (Vehtari, Gelman and Gabry 2017, sec. 2.1; R loo's
``k_threshold``) is to refit the model without those observations and use the exact
leave-one-out predictive density for them. ``arviz_stats.reloo`` does the bookkeeping; this module
gives it a :class:`~arviz_stats.loo.wrapper.SamplingWrapper` for the tier regression that refits
through the compiled model already in memory (only the data change: ``sampling.fit`` with a
data swap), on the full data's standardisation, so the held-out fit has the same priors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bayesres.config import PARETO_K_MAX

__all__ = ["loo_with_refits", "RelooInfo", "MAX_REFITS"]

#: more flagged observations than this and the PSIS result is kept (and the gate fails): many
#: high k mean the model is misspecified, not that a few points are influential.
MAX_REFITS = 5


@dataclass
class RelooInfo:
    psis_k_max: float
    refitted: list[int] = field(default_factory=list)
    refit_divergences: int = 0
    k_max: float = float("nan")


def subset(data: Any, keep: np.ndarray) -> Any:
    """The tier data restricted to ``keep`` rows, on the full data's standardisation."""
    return replace(data, y=data.y[keep], x=data.x[keep], c=data.c[keep], tier=data.tier[keep])


def _wrapper(data: Any, idata: Any, refit: Callable[[Any], Any], info: RelooInfo) -> Any:
    import xarray as xr
    from arviz_stats.loo.wrapper import SamplingWrapper

    from bayesres.regression.bayes import pointwise_loglik

    class TierRegressionRefit(SamplingWrapper):
        def sel_observations(self, idx):
            out = np.zeros(data.n, dtype=bool)
            out[np.atleast_1d(idx)] = True
            return subset(data, ~out), (subset(data, out), np.flatnonzero(out))

        def sample(self, modified_observed_data):
            return refit(modified_observed_data)

        def get_inference_data(self, fitted_model):
            info.refit_divergences += int(fitted_model.report.divergences)
            return fitted_model.idata

        def log_likelihood__i(self, excluded_obs, idata__i):
            held_out, rows = excluded_obs
            info.refitted.extend(int(r) for r in rows)
            ll = pointwise_loglik(idata__i, held_out)
            return xr.DataArray(ll, dims=("chain", "draw", "obs"), coords={"obs": np.asarray(rows)})

    return TierRegressionRefit(model=None, idata_orig=idata)


def loo_with_refits(
    idata: Any,
    data: Any,
    *,
    refit: Callable[[Any], Any] | None,
    k_threshold: float = PARETO_K_MAX,
    max_refits: int = MAX_REFITS,
) -> tuple[Any, RelooInfo]:
    """PSIS-LOO of ``idata`` (with its ``log_likelihood`` group), with exact refits for the
    observations whose Pareto k is at or above ``k_threshold`` (at most ``max_refits``).

    ``refit(data_without_i)`` returns a :class:`~bayesres.sampling.FitResult`. Returns the
    ``ELPDDataLOO`` (refitted points carry k = 0, as ``arviz_stats.reloo`` sets them) and what
    was done. Without ``refit``, or with too many flagged points, the PSIS result is returned.
    """
    import warnings

    import arviz as az
    from arviz_stats.loo import reloo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # k-hat is reported, not warned
        psis = az.loo(idata, pointwise=True)
    k = np.asarray(psis.pareto_k, dtype=float)
    info = RelooInfo(psis_k_max=float(np.nanmax(k)))
    n_bad = int(np.sum(k >= k_threshold))
    if refit is None or n_bad == 0 or n_bad > max_refits:
        info.k_max = info.psis_k_max
        return psis, info
    # reloo refits k > threshold; nudge it down so that k == threshold (a gate failure) refits too
    threshold = np.nextafter(k_threshold, -np.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = reloo(
            _wrapper(data, idata, refit, info),
            loo_orig=psis,
            k_threshold=threshold,
            pointwise=True,
        )
    info.k_max = float(np.nanmax(np.asarray(out.pareto_k, dtype=float)))
    return out, info
