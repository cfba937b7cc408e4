"""Leave-one-unit-out LOO for the Bayesian DID: the leads vs no-leads comparison of methods.md 3.6.

The pointwise log-likelihood is computed in numpy from the posterior draws (no recompilation) and
summed within each unit before PSIS, so the predictive target is a whole new city's series, not
one city-year (methods.md section 4: pointwise LOO on city-years is not the right target for a
panel). As methods.md says, LOO compares predictive fit, not identifying assumptions: parallel
trends cannot be tested by LOO, and estimation is never gated on this comparison (Roth 2022).

Supported: the Normal and Student-t likelihoods with independent errors (the AR(1) option's
conditional likelihood is not summed here; :func:`unit_loglik` raises for it).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bayesres.errors import SpecError

__all__ = [
    "loo_table",
    "pointwise_loglik",
    "posterior_predictive",
    "predictive_params",
    "unit_loglik",
]


def _post(idata: Any) -> Any:
    return idata["posterior"] if hasattr(idata, "children") else idata.posterior


def _values(post: Any, name: str) -> np.ndarray:
    return np.asarray(post[name].values, float)


def predictive_params(
    idata: Any, design: Any, *, pick: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(mu, sd, nu or None) of y*_it per (chain, draw, obs) from the posterior draws (numpy);
    with ``pick`` (flat indices over chain x draw), per (picked draw, obs) for those draws only."""
    if design.option("ar1"):
        raise SpecError(
            "pointwise predictions of the AR(1) DID model are not supported",
            hint="Use the model without ar1 (the default).",
        )
    post, a = _post(idata), design.arrays
    u, t, k = a["unit_idx"], a["time_idx"], a["obs_tier"]

    def val(name: str) -> np.ndarray:
        x = _values(post, name)
        if pick is None:
            return x
        return x.reshape(-1, *x.shape[2:])[pick][None]  # (1, picked, ...): the same code below

    mu = val("alpha")[..., u] + val("gamma")[..., t]
    if "delta" in post:
        mu = mu + val("delta")[..., k, t]
    if "th_cov" in post:
        mu = mu + np.einsum("cdj,nj->cdn", val("th_cov"), a["X"])
    tau = val("tau")
    pad = np.zeros((*tau.shape[:2], 1))
    mu = mu + np.concatenate([tau, pad], axis=-1)[..., a["obs_cell"]]
    if len(design.leads) and "pi" in post:
        pi = np.concatenate([val("pi"), pad], axis=-1)
        mu = mu + pi[..., a["obs_lead"]]
    sd = val("sigma")[..., k]
    nu = val("nu")[..., None] if "nu" in post else None
    if pick is not None:
        return mu[0], sd[0], None if nu is None else nu[0]
    return mu, sd, nu


def pointwise_loglik(idata: Any, design: Any) -> np.ndarray:
    """log p(y*_it | draws) per (chain, draw, obs) on the standardised outcome."""
    from scipy import stats

    mu, sd, nu = predictive_params(idata, design)
    y = design.arrays["y_std"]
    if nu is not None:
        return stats.t.logpdf(y, nu, loc=mu, scale=sd)
    return stats.norm.logpdf(y, loc=mu, scale=sd)


def posterior_predictive(idata: Any, design: Any, *, n: int = 100, seed: int = 0) -> np.ndarray:
    """``n`` replicated data sets of y*_it (draws x obs), one posterior draw each."""
    post = _post(idata)
    total = int(post.sizes["chain"] * post.sizes["draw"])
    rng = np.random.default_rng(seed)
    pick = rng.choice(total, size=min(n, total), replace=False)
    # only the picked draws' means (the full (chain, draw, obs) array was 1 s per fit)
    mu, sd, nu = predictive_params(idata, design, pick=pick)
    if nu is not None:
        eps = rng.standard_t(nu.reshape(-1, 1), size=(len(pick), mu.shape[1]))
    else:
        eps = rng.standard_normal((len(pick), mu.shape[1]))
    return mu + sd * eps


def unit_loglik(idata: Any, design: Any) -> Any:
    """``xr.DataArray`` (chain, draw, unit): each unit's summed log-likelihood."""
    import xarray as xr

    ll = pointwise_loglik(idata, design)
    n_units = len(design.units)
    per_unit = np.zeros((*ll.shape[:2], n_units))
    np.add.at(per_unit, (slice(None), slice(None), design.arrays["unit_idx"]), ll)
    return xr.DataArray(
        per_unit, dims=("chain", "draw", "unit"), coords={"unit": list(design.units)}
    )


def loo_table(fits: Mapping[str, tuple[Any, Any]]) -> pd.DataFrame:
    """``az.compare`` of leave-one-unit-out PSIS-LOO over ``{name: (idata, design)}``.

    Columns as ArviZ 1 reports them (rank, elpd, p, elpd_diff, weight, se, dse, warning) plus
    ``pareto_k_max`` and ``n_units``; the unit log-likelihood is attached to each idata as the
    ``log_likelihood`` group (variable ``y``, dim ``unit``).
    """
    import arviz as az
    import xarray as xr

    trees, kmax, n = {}, {}, {}
    for name, (idata, design) in fits.items():
        ll = unit_loglik(idata, design)
        idata["log_likelihood"] = xr.Dataset({"y": ll})
        trees[name] = idata
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # k-hat is reported in the table
            kmax[name] = float(np.nanmax(np.asarray(az.loo(idata, pointwise=True).pareto_k)))
        n[name] = len(design.units)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = az.compare(trees, round_to="None")  # "auto" rounds elpd to its SE
    table = pd.DataFrame(table).reset_index().rename(columns={"index": "model"})
    table["pareto_k_max"] = table["model"].map(kmax)
    table["n_units"] = table["model"].map(n)
    return table
