"""Tier regression simulator with known truth (SYNTHETIC data; methods.md section 2.6).

DGP calibrated to paper 001's design: tier sizes (4, 12, 22) by default; the predictor of tier k is
x_i ~ N(m_k, x_sd) with m_first > m_new > m_other; the control c_i ~ N(0, 1) with corr(x, c) = rho
inside each tier; y_i = a_k + b_k x_i + gamma c_i + eps_i with eps ~ N(0, sigma) (``noise="normal"``)
or sigma * t_3 (``noise="t3"``). Tiers are listed with the reference tier last.

``simulate_tier_regression`` returns a one-row-per-unit DataFrame (unit, tier, x, c, y) whose
``attrs["truth"]`` holds the true parameters (slopes, intercepts, contrasts against the last tier).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayesres.errors import SpecError

__all__ = ["simulate_tier_regression"]

DEFAULT_TIERS = ("first", "new_first", "other")


def simulate_tier_regression(
    *,
    sizes: Sequence[int] = (4, 12, 22),
    slopes: Sequence[float] = (0.05, 0.15, 0.25),
    intercepts: Sequence[float] = (0.0, 0.0, 0.0),
    x_means: Sequence[float] | None = None,
    x_sd: float = 0.3,
    gamma: float = 0.05,
    rho: float = 0.3,
    sigma: float = 0.1,
    noise: str = "normal",
    tiers: Sequence[str] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate y = a_k + b_k x + gamma c + eps for tiers of the given ``sizes`` (seeded)."""
    k = len(sizes)
    if not (len(slopes) == len(intercepts) == k):
        raise SpecError("sizes, slopes and intercepts need one entry per tier")
    names = tuple(tiers) if tiers is not None else (DEFAULT_TIERS if k == 3 else None)
    if names is None:
        names = tuple(f"tier{i + 1}" for i in range(k))
    if len(names) != k:
        raise SpecError("tiers needs one label per tier")
    if noise not in ("normal", "t3"):
        raise SpecError(f"unknown noise {noise!r}", hint="Use normal or t3.")
    means = np.asarray(x_means if x_means is not None else np.linspace(0.6, -0.3, k), float)
    rng = np.random.default_rng(seed)
    rows = []
    for j, (n, name) in enumerate(zip(sizes, names, strict=True)):
        u = rng.standard_normal((int(n), 2))
        x = means[j] + x_sd * u[:, 0]
        c = rho * u[:, 0] + np.sqrt(1 - rho**2) * u[:, 1]
        e = rng.standard_normal(int(n)) if noise == "normal" else rng.standard_t(3, int(n))
        y = intercepts[j] + slopes[j] * x + gamma * c + sigma * e
        rows.append(pd.DataFrame({"tier": name, "x": x, "c": c, "y": y}))
    df = pd.concat(rows, ignore_index=True)
    df.insert(0, "unit", [f"u{i + 1:03d}" for i in range(len(df))])
    ref = names[-1]
    truth = {f"slope[{t}]": float(b) for t, b in zip(names, slopes, strict=True)}
    truth.update({f"intercept[{t}]": float(a) for t, a in zip(names, intercepts, strict=True)})
    truth.update(
        {
            f"slope_diff[{t}-{ref}]": float(b - slopes[-1])
            for t, b in zip(names[:-1], slopes[:-1], strict=True)
        }
    )
    truth.update({"coef[c]": float(gamma), "sigma": float(sigma)})
    df.attrs["truth"] = truth
    df.attrs["synthetic"] = True
    return df
