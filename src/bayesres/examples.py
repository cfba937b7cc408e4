"""Small textbook models used to test the diagnostic gates and, later, SBC.

Eight schools (Rubin 1981; BDA3 section 5.5; methods.md section 5.3): ``y_j ~ N(theta_j, sigma_j)``,
``theta_j ~ N(mu, tau)``, ``mu ~ N(0, 5)``, ``tau ~ HalfCauchy(5)``. The centred form has the
funnel geometry that makes NUTS diverge; the non-centred form samples cleanly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "EIGHT_SCHOOLS_Y",
    "EIGHT_SCHOOLS_SIGMA",
    "SCHOOLS",
    "build_eight_schools",
    "demo_result",
    "fake_analysis_module",
]

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


def demo_result(
    analysis: str = "regression",
    *,
    seed: int = 0,
    failing: bool = False,
    synthetic: bool = True,
    quantities: tuple[str, ...] | None = None,
) -> Any:
    """A small, self-consistent ``AnalysisResult`` with made-up numbers (no model is fitted).

    For report, CLI and orchestration tests and documentation screenshots only: estimates are
    seeded normal draws summarised like a posterior, the frequentist twin is a perturbed copy, and
    ``failing=True`` attaches a gate report that fails on bulk ESS and divergences.
    """
    import pandas as pd

    from bayesres.diagnostics import GateReport
    from bayesres.results import AnalysisResult, DataInfo

    defaults = {
        "index": ("weight[gdp_pc]", "weight[savings]", "dimension_weight[economic]"),
        "regression": ("intercept", "slope", "slope[first]", "slope_diff[first-other]", "sigma"),
        "did": ("ATT", "ATT_tier[first]", "ATT_tier[other]", "TWFE"),
    }
    names = quantities or defaults.get(analysis, ("theta",))
    rng = np.random.default_rng(seed)
    rows_b, rows_f = [], []
    for j, q in enumerate(names):
        centre = float(rng.normal(0.1 * (j + 1), 0.05))
        draws = rng.normal(centre, 0.04 + 0.01 * j, size=2000)
        lo, hi = np.quantile(draws, [0.025, 0.975])
        rows_b.append(
            {
                "quantity": q,
                "estimate": draws.mean(),
                "std_error": draws.std(ddof=1),
                "lower": lo,
                "upper": hi,
                "level": 0.95,
                "p_positive": float((draws > 0).mean()),
                "method": "demo-posterior",
            }
        )
        est = centre + float(rng.normal(0, 0.01))
        se = 0.045 + 0.01 * j
        rows_f.append(
            {
                "quantity": q,
                "estimate": est,
                "std_error": se,
                "lower": est - 1.96 * se,
                "upper": est + 1.96 * se,
                "level": 0.95,
                "p_value": 0.05,
                "method": "demo-OLS",
            }
        )
    if failing:
        rep = GateReport(
            r_hat_max=1.02, ess_bulk_min=55.0, ess_tail_min=80.0, divergences=3, bfmi_min=0.8
        )
        rep.messages = [
            "bulk ESS 55 < 400 (demo)",
            "tail ESS 80 < 400 (demo)",
            "3 divergent transitions",
        ]
        rep.passed = False
    else:
        rep = GateReport(
            r_hat_max=1.002, ess_bulk_min=900.0, ess_tail_min=800.0, divergences=0, bfmi_min=0.9
        )
    estimates = pd.DataFrame(rows_b)
    frequentist = pd.DataFrame(rows_f)

    def _figure() -> Any:
        from bayesres.checks import forest_overlay
        from bayesres.compare import compare_tables

        return forest_overlay(compare_tables(estimates, frequentist), title=f"demo {analysis}")

    return AnalysisResult(
        analysis=analysis,
        data=DataInfo(source="demo", sha256=None, n_rows=38, synthetic=synthetic),
        settings={"seed": seed, "draws": 1000, "chains": 4, "sampler": "demo"},
        estimates=estimates,
        frequentist=frequentist,
        diagnostics=rep if analysis != "index" else None,
        figures={"forest": _figure},
        notes=["demo result: made-up numbers for tests and screenshots"],
    )


def fake_analysis_module(analysis: str, *, failing: bool = False, calls: list | None = None) -> Any:
    """A stand-in for ``bayesres.<analysis>`` whose ``run`` returns a ``demo_result`` (tests).

    The fake index result carries entropy ``score[<city>]`` rows and an ``index_draws`` table, as
    the real one does, so the regression spec's derived columns work; ``calls`` records
    ``(analysis, frame, kwargs)``.
    """
    import pandas as pd

    qs = {
        "index": ("weight[library_books]", "dimension_weight[economic]"),
        "regression": ("intercept", "slope", "slope_diff[first-other]"),
        "did": ("ATT", "TWFE", "ATT_tier[first]"),
    }[analysis]

    class Fake:
        @staticmethod
        def run(frame, **kw):
            if calls is not None:
                calls.append((analysis, frame, kw))
            res = demo_result(analysis, failing=failing and analysis != "index", quantities=qs)
            if analysis == "index":
                res.frequentist = pd.concat(
                    [
                        res.frequentist,
                        pd.DataFrame(
                            {
                                "quantity": [f"score[{c}]" for c in frame["city"].unique()],
                                "estimate": 0.5,
                                "std_error": 0.1,
                                "lower": 0.3,
                                "upper": 0.7,
                                "method": "entropy",
                            }
                        ),
                    ]
                )
                res.tables["index_draws"] = pd.DataFrame({"unit": ["Beijing"], "draw_0": [0.5]})
            res.data = kw["data_info"]
            return res

    return Fake
