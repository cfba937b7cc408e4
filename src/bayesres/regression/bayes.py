"""Bayesian twins of the export-ratio regression: pooled, no-pool and hierarchical tier models.

Model (methods.md section 2.2), on the standardised predictor x and controls
c = (c_raw - mean) / sd, with y on its natural (log) scale, s_y = sd(y), ybar = mean(y):

    y_i ~ Normal(mu_i, sigma)  or  StudentT(nu, mu_i, sigma)
    mu_i = a_k(i) + b_k(i) x_i + gamma' c_i
    pooled:        a_k = a, b_k = b
    no-pool:       a_k ~ N(ybar, 2.5 s_y), b_k ~ N(0, 1 s_y), independent
    hierarchical:  a_k = a0 + tau_a z_a[k], b_k = b0 + tau_b z_b[k], z ~ N(0, 1) (non-centred)

Priors (scaled to the data, rstanarm-style; the multipliers live in ``Priors`` and enter the model,
with ybar and s_y, as the one ``pm.Data`` vector ``scales`` (dim ``scale``, ``SCALES``) so that a
prior-sensitivity refit reuses the compiled model; one container rather than six scalars, as
nutpie's compile time grows by about a second per ``pm.Data`` container):
    a, a0 ~ N(ybar, 2.5 s_y);  b, b0, gamma ~ N(0, 1 s_y) per sd of the predictor;
    tau_a, tau_b ~ HalfNormal(0.5 s_y)  (no HalfCauchy: three groups barely inform a group sd);
    sigma ~ Exponential(rate 1 / s_y);  nu ~ Gamma(2, 0.1)  (Juárez & Steel 2010).
No LKJ correlation between a_k and b_k: it is not identified with three tiers.

Centring of x (``centre``, keyword of ``prepare``; spec ``[options] centre``). Always divided by
the global sd(x_raw), so b is "per sd of x" in every variant.
    "tier" (default for the no-pool and hierarchical variants): x = (x_raw - mean_k(x_raw)) / sd,
        so a_k is tier k's mean outcome at its own mean x (controls at their mean) and is
        nearly uncorrelated with b_k; the hierarchical prior shrinks tier means, not intercepts
        extrapolated to the global mean of x.
    "global": x = (x_raw - mean(x_raw)) / sd. a_k is tier k's line at the global mean x, far
        outside a tier that sits at one end of the x range (the 4 first-tier cities), so a_k and
        b_k are nearly collinear and shrinking a_k moves b_k: in the customs38 coverage study
        (docs/calibration/s6_diagnosis.md) the globally centred hierarchical model covered
        slope[first] in 0.51 of S6 and 0.71 of S5 replications (nominal 0.95; R = 500), the
        tier-centred one in 0.994 and 0.992, with intervals about twice as wide.
    The pooled model always centres globally (within-tier centring would throw away the
    between-tier variation of x that its one slope uses): ``TierData.x_for("pooled")``.

Reported coefficients are on the raw (log-log) scale of the paper: slope = b / sd(x_raw),
coef[c] = gamma / sd(c_raw), intercept = a - b mean(x)/sd(x) - sum gamma mean(c)/sd(c) (pooled) and
intercept[k] = a_k - slope_k m_k - sum gamma mean(c)/sd(c) with m_k the centring location of tier k
(``x_tier_loc``: the tier mean of x_raw, or the global mean under ``centre = "global"``), so they
sit beside the OLS twin of ``freq.py``. Contrasts slope_diff[k-ref] = slope[k] - slope[ref] come with
P(delta < 0) and P(|delta| < ROPE) (methods.md section 2.3): under flat priors and normality
2 min(P(delta < 0), P(delta > 0)) is close to the two-sided p-value of the OLS contrast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from bayesres.config import HDI_PROB, SamplerSettings
from bayesres.errors import SpecError
from bayesres.sampling import FitResult, fit
from bayesres.summary import summarise_draws, tidy_frame
from bayesres.validate import CrossSection

__all__ = [
    "VARIANTS",
    "CENTRES",
    "LIKELIHOODS",
    "ROPE",
    "Priors",
    "TierData",
    "check_centre",
    "prepare",
    "build_model",
    "model_key",
    "fit_variant",
    "raw_draws",
    "contrast_table",
    "linear_predictor",
    "pointwise_loglik",
    "add_log_likelihood",
    "loo_compare",
    "prior_sensitivity",
]

VARIANTS = ("pooled", "nopool", "hierarchical")
LIKELIHOODS = ("normal", "student")
CENTRES = ("tier", "global")
DEFAULT_CENTRE = "tier"
ROPE = 0.05
SCALES = ("y_loc", "y_scale", "prior_intercept", "prior_slope", "prior_group_sd", "prior_sigma")


@dataclass(frozen=True)
class Priors:
    """Prior scales as multiples of s_y = sd(y) (see the module docstring)."""

    intercept: float = 2.5
    slope: float = 1.0
    group_sd: float = 0.5
    sigma: float = 1.0


def check_centre(centre: str) -> str:
    """``centre`` if it is one of ``CENTRES``, else a ``SpecError`` naming the option."""
    if centre not in CENTRES:
        raise SpecError(
            f"option centre = {centre!r} is not allowed",
            hint=f"Use centre = one of {', '.join(repr(c) for c in CENTRES)}.",
        )
    return centre


@dataclass(frozen=True)
class TierData:
    """Standardised arrays for the tier models, plus what is needed to return to raw scale.

    ``x`` is the predictor as the no-pool / hierarchical models see it, centred by ``centre``:
    x = (x_raw - x_tier_loc[tier]) / x_scale. ``x_tier_loc`` (one location per tier) is the tier
    mean of x_raw under ``centre = "tier"`` and ``x_loc`` repeated under ``"global"`` (the
    default when it is not given). The pooled model's x is ``x_for("pooled")`` (global centring).
    """

    y: np.ndarray
    x: np.ndarray
    c: np.ndarray
    tier: np.ndarray
    tiers: tuple[str, ...]
    controls: tuple[str, ...]
    x_loc: float
    x_scale: float
    c_loc: np.ndarray
    c_scale: np.ndarray
    y_loc: float
    y_scale: float
    centre: str = "global"
    x_tier_loc: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_centre(self.centre)
        if self.x_tier_loc is None:
            if self.centre == "tier" and len(self.tiers) > 1:
                raise SpecError("TierData(centre='tier') needs x_tier_loc (one mean per tier)")
            object.__setattr__(self, "x_tier_loc", np.full(len(self.tiers), self.x_loc))
        loc = np.asarray(self.x_tier_loc, float)
        if loc.shape != (len(self.tiers),):
            raise SpecError(
                f"x_tier_loc has shape {loc.shape}, expected ({len(self.tiers)},): one per tier"
            )
        object.__setattr__(self, "x_tier_loc", loc)

    @property
    def n(self) -> int:
        return len(self.y)

    def x_for(self, variant: str) -> np.ndarray:
        """The standardised x a variant's model sees: the pooled model's is centred globally."""
        if variant != "pooled" or self.centre == "global":
            return self.x
        assert self.x_tier_loc is not None
        return self.x + (self.x_tier_loc[self.tier] - self.x_loc) / self.x_scale

    def pm_data(
        self, priors: Priors = Priors(), *, variant: str = "hierarchical"
    ) -> dict[str, np.ndarray]:
        """The ``pm.Data`` containers (same names and shapes for every refit of one key)."""
        out = {
            "y_obs": self.y,
            "x": self.x_for(variant),
            "tier_idx": self.tier.astype(np.int64),
            # in the order of SCALES
            "scales": np.array(
                [
                    self.y_loc,
                    self.y_scale,
                    priors.intercept,
                    priors.slope,
                    priors.group_sd,
                    priors.sigma,
                ],
                dtype=float,
            ),
        }
        if self.c.shape[1]:
            out["c"] = self.c
        return out


def prepare(
    cs: CrossSection,
    *,
    y: np.ndarray | None = None,
    x: np.ndarray | None = None,
    centre: str = DEFAULT_CENTRE,
) -> TierData:
    """Standardise the validated cross-section (``x`` / ``y`` override, e.g. for index draws).

    ``centre``: "tier" (x centred at each tier's own mean) or "global" (at the overall mean);
    see the module docstring. The pooled model centres globally either way.
    """
    check_centre(centre)
    yv = np.asarray(cs.y if y is None else y, float)
    xv = np.asarray(cs.x if x is None else x, float)
    z = cs.z
    c_loc, c_scale = z.mean(axis=0), z.std(axis=0, ddof=1)
    if np.any(c_scale <= 0) or xv.std(ddof=1) <= 0:
        raise SpecError("the predictor and every control must vary across units")
    tiers = cs.tiers if cs.tier and len(cs.tiers) > 1 else ("all",)
    codes = cs.tier_codes if len(tiers) > 1 else np.zeros(cs.n, dtype=int)
    x_loc, x_scale = float(xv.mean()), float(xv.std(ddof=1))
    if centre == "tier" and len(tiers) > 1:
        tier_loc = np.array([xv[codes == k].mean() for k in range(len(tiers))])
    else:
        tier_loc = np.full(len(tiers), x_loc)
    return TierData(
        y=yv,
        x=(xv - tier_loc[codes]) / x_scale,
        c=(z - c_loc) / c_scale,
        tier=codes,
        tiers=tuple(tiers),
        controls=cs.controls,
        x_loc=x_loc,
        x_scale=x_scale,
        c_loc=c_loc,
        c_scale=c_scale,
        y_loc=float(yv.mean()),
        y_scale=float(yv.std(ddof=1)),
        centre=centre,
        x_tier_loc=tier_loc,
    )


def model_key(data: TierData, *, variant: str, likelihood: str) -> tuple:
    """Compile-cache key: everything that fixes the model structure and the data shapes.

    ``centre`` is not part of it: it changes the values of the ``x`` container, not the graph.
    Nor is the number of units: the compiled logp is shape-polymorphic in the ``obs`` containers,
    so paper 001's n = 37 robustness fit (months to recovery) reuses the n = 38 compile.
    """
    return ("regression", variant, likelihood, len(data.tiers), data.c.shape[1])


def build_model(
    data: TierData,
    *,
    variant: str = "hierarchical",
    likelihood: str = "normal",
    priors: Priors = Priors(),
) -> Any:
    """The PyMC model (pure: no sampling)."""
    import pymc as pm

    if variant not in VARIANTS:
        raise SpecError(f"unknown model variant {variant!r}", hint=f"Use one of {VARIANTS}.")
    if likelihood not in LIKELIHOODS:
        raise SpecError(f"unknown likelihood {likelihood!r}", hint="Use normal or student.")
    coords = {"obs": np.arange(data.n), "tier": list(data.tiers), "scale": list(SCALES)}
    if data.c.shape[1]:
        coords["control"] = list(data.controls)
    d = data.pm_data(priors, variant=variant)
    with pm.Model(coords=coords) as m:
        y_obs = pm.Data("y_obs", d["y_obs"], dims="obs")
        x = pm.Data("x", d["x"], dims="obs")
        tier = pm.Data("tier_idx", d["tier_idx"], dims="obs")
        scales = pm.Data("scales", d["scales"], dims="scale")
        y_loc, y_scale = scales[0], scales[1]
        s_a = scales[2] * y_scale
        s_b = scales[3] * y_scale
        s_tau = scales[4] * y_scale
        s_sigma = scales[5] * y_scale
        if variant == "pooled":
            a = pm.Normal("a", y_loc, s_a)
            b = pm.Normal("b", 0.0, s_b)
            mu = a + b * x
        elif variant == "nopool":
            a = pm.Normal("a", y_loc, s_a, dims="tier")
            b = pm.Normal("b", 0.0, s_b, dims="tier")
            mu = a[tier] + b[tier] * x
        else:
            a0 = pm.Normal("a0", y_loc, s_a)
            b0 = pm.Normal("b0", 0.0, s_b)
            tau_a = pm.HalfNormal("tau_a", s_tau)
            tau_b = pm.HalfNormal("tau_b", s_tau)
            z_a = pm.Normal("z_a", 0.0, 1.0, dims="tier")
            z_b = pm.Normal("z_b", 0.0, 1.0, dims="tier")
            a = pm.Deterministic("a", a0 + tau_a * z_a, dims="tier")
            b = pm.Deterministic("b", b0 + tau_b * z_b, dims="tier")
            mu = a[tier] + b[tier] * x
        if data.c.shape[1]:
            c = pm.Data("c", d["c"], dims=("obs", "control"))
            gamma = pm.Normal("gamma", 0.0, s_b, dims="control")
            mu = mu + pm.math.dot(c, gamma)
        sigma = pm.Exponential("sigma", 1.0 / s_sigma)
        if likelihood == "normal":
            pm.Normal("y", mu, sigma, observed=y_obs, dims="obs")
        else:
            nu = pm.Gamma("nu", 2.0, 0.1)
            pm.StudentT("y", nu=nu, mu=mu, sigma=sigma, observed=y_obs, dims="obs")
    return m


def fit_variant(
    data: TierData,
    *,
    variant: str,
    likelihood: str,
    settings: SamplerSettings,
    priors: Priors = Priors(),
    model: Any = None,
    swap: bool = False,
    retry: bool = True,
    extend: bool = False,
    convergence: bool = True,
    light: bool = False,
) -> tuple[Any, FitResult]:
    """Build (or reuse ``model``) and fit; ``swap`` sends ``data`` through ``with_data`` (refits).

    ``retry=False``: one attempt at ``settings.target_accept``, no divergence ladder.
    ``extend=True``: twice the draws once when only R-hat / ESS fail (``sampling.fit``).
    ``convergence=False``: gate on divergences and E-BFMI only (pooled refits).
    ``light=True``: posterior and divergence / energy statistics only (``sampling.fit``).
    """
    key = model_key(data, variant=variant, likelihood=likelihood)
    if model is None:
        model = build_model(data, variant=variant, likelihood=likelihood, priors=priors)
    unused = {"pooled": ("tier_idx",)}
    new = {
        k: v
        for k, v in data.pm_data(priors, variant=variant).items()
        if k not in unused.get(variant, ())
    }
    res = fit(
        model,
        settings=settings,
        key=key,
        data=new if swap else None,
        derived=lambda idata: raw_draws(idata, data),
        retry=retry,
        extend=extend,
        convergence=convergence,
        light=light,
    )
    return model, res


def raw_draws(idata: Any, data: TierData) -> dict[str, np.ndarray]:
    """Raw-scale quantities {name: (chain, draw)}: intercept/slope (pooled) or per-tier terms.

    intercept[k] = a_k - slope_k x_tier_loc[k] - shift: a_k is tier k's line at its centring
    location (its own mean x under ``centre = "tier"``); the pooled intercept uses the global mean.
    """
    post = idata["posterior"]
    a = np.asarray(post["a"].values if "a" in post else post["a0"].values, float)
    b = np.asarray(post["b"].values, float)
    out: dict[str, np.ndarray] = {}
    shift = np.zeros(a.shape[:2])
    if "gamma" in post:
        g = np.asarray(post["gamma"].values, float) / data.c_scale
        for j, name in enumerate(data.controls):
            out[f"coef[{name}]"] = g[..., j]
        shift = (g * data.c_loc).sum(axis=-1)
    if b.ndim == 2:
        slope = b / data.x_scale
        out["intercept"] = a - slope * data.x_loc - shift
        out["slope"] = slope
    else:
        ref = data.tiers[-1]
        slopes = b / data.x_scale
        for k, t in enumerate(data.tiers):
            out[f"slope[{t}]"] = slopes[..., k]
            out[f"intercept[{t}]"] = a[..., k] - slopes[..., k] * data.x_tier_loc[k] - shift
        for k, t in enumerate(data.tiers[:-1]):
            out[f"slope_diff[{t}-{ref}]"] = slopes[..., k] - slopes[..., -1]
        for i, t in enumerate(data.tiers[:-1]):
            for j in range(i + 1, len(data.tiers) - 1):
                out[f"slope_diff[{t}-{data.tiers[j]}]"] = slopes[..., i] - slopes[..., j]
        if "b0" in post:
            b0 = np.asarray(post["b0"].values, float) / data.x_scale
            out["slope_mean"] = b0
            out["tau_slope"] = np.asarray(post["tau_b"].values, float) / data.x_scale
            out["tau_intercept"] = np.asarray(post["tau_a"].values, float)
    out["sigma"] = np.asarray(post["sigma"].values, float)
    if "nu" in post:
        out["nu"] = np.asarray(post["nu"].values, float)
    return out


def contrast_table(
    draws: Mapping[str, np.ndarray], *, rope: float = ROPE, hdi_prob: float = HDI_PROB
) -> pd.DataFrame:
    """Posterior contrasts: median, 90 % / ``hdi_prob`` intervals, P(< 0), P(|d| < ROPE)."""
    rows = []
    for name, d in draws.items():
        if not name.startswith("slope_diff["):
            continue
        flat = np.asarray(d, float).reshape(-1)
        lo, hi = np.quantile(flat, [0.5 - hdi_prob / 2, 0.5 + hdi_prob / 2])
        p_neg = float((flat < 0).mean())
        rows.append(
            {
                "quantity": name,
                "median": float(np.median(flat)),
                "q05": float(np.quantile(flat, 0.05)),
                "q95": float(np.quantile(flat, 0.95)),
                "eti_low": float(lo),
                "eti_high": float(hi),
                "p_negative": p_neg,
                "p_in_rope": float((np.abs(flat) < rope).mean()),
                "rope": rope,
                "two_sided_equiv_p": 2 * min(p_neg, 1 - p_neg),
            }
        )
    return pd.DataFrame(rows)


def summarise(
    draws: Mapping[str, np.ndarray], *, label: str, hdi_prob: float = HDI_PROB
) -> pd.DataFrame:
    return summarise_draws(dict(draws), method=label, hdi_prob=hdi_prob)


def linear_predictor(idata: Any, data: TierData) -> np.ndarray:
    """mu (chain, draw, obs) on the standardised design, from the posterior draws."""
    post = idata["posterior"]
    a = np.asarray(post["a"].values if "a" in post else post["a0"].values, float)
    b = np.asarray(post["b"].values, float)
    if b.ndim == 2:
        mu = a[..., None] + b[..., None] * data.x_for("pooled")
    else:
        mu = a[..., data.tier] + b[..., data.tier] * data.x
    if "gamma" in post:
        mu = mu + np.einsum("cdp,np->cdn", np.asarray(post["gamma"].values, float), data.c)
    return mu


def pointwise_loglik(idata: Any, data: TierData) -> np.ndarray:
    """log p(y_i | theta) per draw (chain, draw, obs), computed in numpy (no recompilation)."""
    from scipy import stats

    post = idata["posterior"]
    mu = linear_predictor(idata, data)
    sigma = np.asarray(post["sigma"].values, float)[..., None]
    if "nu" in post:
        nu = np.asarray(post["nu"].values, float)[..., None]
        return stats.t.logpdf(data.y, nu, loc=mu, scale=sigma)
    return stats.norm.logpdf(data.y, loc=mu, scale=sigma)


def add_log_likelihood(idata: Any, data: TierData) -> Any:
    """Attach the ``log_likelihood`` group (variable ``y``, dims chain, draw, obs)."""
    import xarray as xr

    ll = pointwise_loglik(idata, data)
    idata["log_likelihood"] = xr.Dataset(
        {"y": xr.DataArray(ll, dims=("chain", "draw", "obs"), coords={"obs": np.arange(data.n)})}
    )
    return idata


def loo_compare(
    fits: Mapping[str, tuple[TierData, FitResult]],
    *,
    refit: Callable[[str, TierData], FitResult] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """PSIS-LOO of each fitted variant and ``az.compare`` (ArviZ 1: elpd / p / dse / weight).

    Observations whose Pareto k reaches the gate (0.7) are refitted exactly when ``refit``
    (variant name, data without them -> FitResult) is given (``regression.reloo``); the table
    keeps the PSIS k-hat beside the k after refits and the refitted rows. Returns the table and
    the k-hat the gate uses per variant (after refits).
    """
    import warnings

    import arviz as az

    from bayesres.regression.reloo import loo_with_refits

    elpds, kmax, extra = {}, {}, {}
    for name, (data, res) in fits.items():
        idata = res.idata
        if "log_likelihood" not in idata.children:
            add_log_likelihood(idata, data)
        one = None if refit is None else (lambda d, _n=name: refit(_n, d))
        elpds[name], info = loo_with_refits(idata, data, refit=one)
        kmax[name] = info.k_max
        extra[name] = info
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = az.compare(elpds, round_to="none")  # full precision in tables/loo.csv
    table = pd.DataFrame(table).reset_index().rename(columns={"index": "model"})
    table["pareto_k_max"] = table["model"].map(kmax)
    table["pareto_k_max_psis"] = table["model"].map({k: v.psis_k_max for k, v in extra.items()})
    table["exact_refit_obs"] = table["model"].map(
        {k: " ".join(str(i) for i in v.refitted) for k, v in extra.items()}
    )
    table["refit_divergences"] = table["model"].map(
        {k: v.refit_divergences for k, v in extra.items()}
    )
    return table, kmax


def prior_sensitivity(
    data: TierData,
    *,
    model: Any,
    likelihood: str,
    settings: SamplerSettings,
    priors: Priors = Priors(),
    factors: tuple[float, ...] = (0.5, 1.0, 2.0),
    retry: bool = True,
    fitted: FitResult | None = None,
) -> pd.DataFrame:
    """Refit the hierarchical model with the group-sd prior scale x ``factors`` (same compile).

    ``fitted``: the fit with ``priors`` themselves (the analysis' main hierarchical fit, same
    data, settings and seed); it stands for factor 1 instead of an identical refit.
    """
    rows = []
    for f in factors:
        pr = replace(priors, group_sd=priors.group_sd * f)
        if f == 1.0 and fitted is not None:
            res = fitted
        else:
            _, res = fit_variant(
                data,
                variant="hierarchical",
                likelihood=likelihood,
                settings=settings,
                priors=pr,
                model=model,
                swap=True,
                retry=retry,
            )
        draws = raw_draws(res.idata, data)
        for name, d in draws.items():
            if name.startswith(("slope[", "slope_diff[", "tau_slope")):
                flat = d.reshape(-1)
                rows.append(
                    {
                        "group_sd_factor": f,
                        "group_sd_prior": pr.group_sd,
                        "quantity": name,
                        "mean": float(flat.mean()),
                        "sd": float(flat.std(ddof=1)),
                        "p_negative": float((flat < 0).mean()),
                        "divergences": res.report.divergences,
                    }
                )
    return pd.DataFrame(rows)


def tidy_bayes(
    draws: Mapping[str, np.ndarray], *, label: str, keep: tuple[str, ...], hdi_prob: float
) -> pd.DataFrame:
    sel = {k: v for k, v in draws.items() if k.startswith(keep) or k in keep}
    return tidy_frame(summarise(sel, label=label, hdi_prob=hdi_prob))
