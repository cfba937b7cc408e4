"""Small textbook models used to test the diagnostic gates and, later, SBC.

Eight schools (Rubin 1981; BDA3 section 5.5; methods.md section 5.3): ``y_j ~ N(theta_j, sigma_j)``,
``theta_j ~ N(mu, tau)``, ``mu ~ N(0, 5)``, ``tau ~ HalfCauchy(5)``. The centred form has the
funnel geometry that makes NUTS diverge; the non-centred form samples cleanly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["EIGHT_SCHOOLS_Y", "EIGHT_SCHOOLS_SIGMA", "SCHOOLS", "build_eight_schools"]

EIGHT_SCHOOLS_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
EIGHT_SCHOOLS_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
SCHOOLS = ("A", "B", "C", "D", "E", "F", "G", "H")


def build_eight_schools(
    centred: bool,
    *,
    y: np.ndarray | None = None,
    sigma: np.ndarray | None = None,
    mu_sd: float = 5.0,
    tau_beta: float = 5.0,
) -> Any:
    """Return the eight-schools ``pm.Model`` (centred or non-centred); no sampling here.

    ``y`` is a ``pm.Data`` container (name ``y_obs``) so a compiled model can be refitted with
    simulated data (SBC). Variables: ``mu``, ``tau``, ``theta`` (dims ``school``), and in the
    non-centred form ``theta_z``.
    """
    import pymc as pm

    y = EIGHT_SCHOOLS_Y if y is None else np.asarray(y, dtype=float)
    sigma = EIGHT_SCHOOLS_SIGMA if sigma is None else np.asarray(sigma, dtype=float)
    if y.shape != sigma.shape or y.ndim != 1:
        raise ValueError(
            f"y and sigma must be 1-D of equal length, got {y.shape} and {sigma.shape}"
        )
    schools = SCHOOLS if len(y) == len(SCHOOLS) else tuple(f"s{i}" for i in range(len(y)))
    with pm.Model(coords={"school": schools}) as model:
        y_obs = pm.Data("y_obs", y, dims="school")
        mu = pm.Normal("mu", 0.0, mu_sd)
        tau = pm.HalfCauchy("tau", tau_beta)
        if centred:
            theta = pm.Normal("theta", mu, tau, dims="school")
        else:
            theta_z = pm.Normal("theta_z", 0.0, 1.0, dims="school")
            theta = pm.Deterministic("theta", mu + tau * theta_z, dims="school")
        pm.Normal("y", theta, sigma, observed=y_obs, dims="school")
    return model
