"""Calibration adapters for the shipped hierarchical Bayesian DID (``bayesres.did.bayes``).

The SBC adapters fit ``model_from_design`` as ``bayesres did`` builds it (hierarchical
ATT prior, Normal likelihood, no AR(1), leads 4, tier-year shocks where the data allow them,
target_accept 0.95) on the real design of a bundled panel: its units, periods, cohorts, tiers
and (within-unit demeaned, QR-rotated) covariates.

* ``did_hier``: mpdta (500 counties x 2003-2007, cohorts 2004 / 2006 / 2007, population
  terciles as tiers, no covariates);
* ``did_hier_ecommerce``: ecommerce_panel (248 cities x 2012-2021, five cohorts including the
  one-city 2015 cohort, five tiers including the four-city all-treated 'first' tier, five
  controls).

Parametrisation. ``bayesres did`` picks the centred or non-centred form of the ATT cells, the
event-time walk and the tier terms per data set, from a numpy pilot of the outcome
(``did._centring``). The adapters do the same per simulation (``did_variant``, the same pilot
and rules on the simulated y*), so each simulated data set is fitted in the form the analysis
would fit it in; each form is compiled once per process. Until session 9 the adapters always
fitted the form of the real outcome (non-centred cells and walk, centred tier terms).

Standardisation. The model works on y* = (y - mean) / sd, and ``did_design`` standardises the
observed outcome; SBC must not re-standardise a simulated y* (that would change the data the
prior generated). The model graph does not contain y_mean / y_sd (only the aggregation layer
uses them), so the adapter keeps one design per dataset with y_mean = 0 and y_sd = 1 held fixed
(the analogue of the regression adapters' fixed y_loc / y_scale), builds and compiles its model
once and swaps only the ``pm.Data`` container ``y_std`` per simulation. All checked quantities
are on the standardised scale.

Prior simulator, written from the module docstring of ``did/bayes.py`` (not from the PyMC graph,
so a mismatch between documented and coded priors fails SBC); ZSN(s) is the zero-sum normal
(iid N(0, s) minus its mean, over each zero-sum axis):

    mu ~ N(0, 1); lambda ~ ZSN(1) over never + cohorts; eta ~ ZSN(1) over tiers;
    s_a ~ Gamma(2, rate sqrt(6) / 1)
    alpha_i ~ N(mu + lambda_g(i) + eta_k(i), s_a); gamma ~ ZSN(1) over years
    delta_{k,t} = s_d ZSN(1) over (shock tier, year), both axes zero-sum, s_d (0.25) by the
        group-scale rule below with (K_s - 1)(T - 1) groups (the free shocks);
        delta_k = 0 for a tier without never-treated units (no shocks with < 2 such tiers)
    theta_cov ~ N(0, 1) on the QR scale; m_it = alpha_i + gamma_t + delta_{k,t} + Q_it' theta_cov
    tau_c = theta_e + phi_g + psi_k + s_c u_c, u ~ N(0, 1), s_c ~ HN(0.1)
    theta_e = theta_0 + sum_{j <= e} s_th rw_j, theta_0 ~ N(0, 1), rw ~ N(0, 1)
    phi = s_phi P_g z, z ~ N(0, I);  psi = P_k z', z' ~ N(0, s_psi^2 I)
        P = I - w w' / w'w, w = treated observations per cohort / tier (the treated-weighted
        zero-sum: B z with B an orthonormal basis of {x: w'x = 0} has covariance s^2 P)
    pi_l = s_pi z_l (leads e = -4..-2 of each treated cohort), z ~ N(0, 1)
    scales s_th, s_phi, s_psi, s_pi (prior value 0.25): HN(0.25) with >= 10 groups,
        Gamma(2, rate sqrt(6) / 0.25) with 5-9, fixed at 0.25 with fewer; groups are the
        random-walk steps, the lead cells, and the cohorts / tiers with >= 2 treated units
    sigma_k ~ HN(1); y*_it ~ N(m_it + D_it tau_c(it) + L_it pi_l(it), sigma_k(i))

Checked quantities: th0, s_c, sigma[k], s_a and s_d (parameters), the learnt group scales
(mpdta: s_pi; ecommerce: s_th, s_psi, s_pi), the simple ATT and one tier contrast from the
shipped aggregation (``did.aggregate.aggregate_draws``, the n-weighted cell means ``bayesres
did`` reports, here in y* units) and the log-likelihood test quantity.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from bayesres.calibrate.models import CalibrationModel, register

__all__ = [
    "DID_DATASETS",
    "DOCUMENTED_PRIORS",
    "did_calibration_model",
    "did_quantities",
    "did_sbc_design",
    "did_simulator",
    "group_scale_kind",
    "weighted_zero_sum_cov",
]

# model name -> (bundled dataset, tier contrast checked)
DID_DATASETS: dict[str, tuple[str, str]] = {
    "did_hier": ("mpdta", "high-low"),
    "did_hier_ecommerce": ("ecommerce_panel", "first-other"),
}
LEADS = 4  # bayesres did's default (models/did_003.toml)
TARGET_ACCEPT = 0.95  # bayesres did starts here (every fit at 0.9 diverged, did/__init__.py)

# the documented default priors (did/bayes.py module docstring), standardised scale
DOCUMENTED_PRIORS: dict[str, float] = {
    "mu": 1.0,
    "lam": 1.0,
    "eta": 1.0,
    "s_a": 1.0,
    "gamma": 1.0,
    "s_d": 0.25,
    "beta": 1.0,
    "sigma": 1.0,
    "th0": 1.0,
    "s_th": 0.25,
    "s_phi": 0.25,
    "s_psi": 0.25,
    "s_c": 0.1,
    "s_pi": 0.25,
}
MANY_GROUPS, FEW_GROUPS = 10, 5  # documented thresholds: HN at >= 10 groups, Gamma at 5-9

# --------------------------------------------------------------------------- numpy kernels


def group_scale_kind(n_groups: int) -> str:
    """Documented form of a group scale: "halfnormal" (>= 10), "gamma" (5-9), "fixed"."""
    if n_groups >= MANY_GROUPS:
        return "halfnormal"
    if n_groups >= FEW_GROUPS:
        return "gamma"
    return "fixed"


def draw_group_scale(rng: np.random.Generator, n_groups: int, prior: float) -> float:
    """One draw of a documented group scale (``prior`` is its HalfNormal sd / fixed value)."""
    kind = group_scale_kind(n_groups)
    if kind == "halfnormal":
        return float(abs(rng.normal(0.0, prior)))
    if kind == "gamma":  # Gamma(shape 2, rate sqrt(6) / prior): E[s^2] = prior^2
        return float(rng.gamma(2.0, prior / np.sqrt(6.0)))
    return float(prior)


def weighted_zero_sum_cov(w: np.ndarray) -> np.ndarray:
    """P = I - w w' / w'w: the covariance (unit scale) of the treated-weighted zero-sum prior."""
    w = np.asarray(w, float).reshape(-1, 1)
    return np.eye(w.shape[0]) - (w @ w.T) / float(np.sum(w * w))


def zero_sum_normal(
    rng: np.random.Generator, sigma: float, shape: tuple[int, ...], n_axes: int = 1
) -> np.ndarray:
    """iid N(0, sigma) minus its mean over each of the last ``n_axes`` axes."""
    x = rng.normal(0.0, sigma, shape)
    for ax in range(n_axes):
        x = x - x.mean(axis=-ax - 1, keepdims=True)
    return x


# --------------------------------------------------------------------------- design


def _panel(dataset: str) -> Any:
    from bayesres.did import bundled_panel

    return bundled_panel(dataset)[0]  # DataWarnings (small tiers) belong to the analysis


@functools.lru_cache(maxsize=4)
def did_sbc_design(dataset: str) -> Any:
    """The ``DidDesign`` of a bundled panel as ``bayesres did`` builds it, y_mean 0 / y_sd 1."""
    from bayesres.did.bayes import did_design

    design = did_design(_panel(dataset), leads=LEADS)
    return dataclasses.replace(design, y_mean=0.0, y_sd=1.0)


@dataclasses.dataclass(frozen=True)
class _Structure:
    """The design facts the simulator needs, read from the observation table (not the model)."""

    u: np.ndarray
    t: np.ndarray
    k: np.ndarray
    unit_coh: np.ndarray
    unit_tier: np.ndarray
    cell: np.ndarray
    lead: np.ndarray
    x: np.ndarray
    n_tiers: int
    n_periods: int
    n_cohorts: int
    cell_e: np.ndarray
    cell_g: np.ndarray
    cell_k: np.ndarray
    n_leads: int
    shock_rows: tuple[int, ...]
    w_cohort: np.ndarray
    w_tier: np.ndarray
    groups: dict[str, int]


@functools.lru_cache(maxsize=4)
def _structure(dataset: str) -> _Structure:
    d = did_sbc_design(dataset)
    a, obs, cells = d.arrays, d.obs, d.cells
    treated = ((obs["cohort"] > 0) & (obs["event"] >= 0)).to_numpy()
    tier_pos = {k: i for i, k in enumerate(d.tiers)}
    coh_pos = {g: i for i, g in enumerate(d.cohorts)}
    k_obs = obs["tier"].map(tier_pos).to_numpy()
    g_obs = obs["cohort"].map(coh_pos).to_numpy()
    w_tier = np.bincount(k_obs[treated], minlength=len(d.tiers)).astype(float)
    w_cohort = np.bincount(g_obs[treated].astype(int), minlength=len(d.cohorts)).astype(float)
    tr = obs[treated]
    units_per = {by: tr.groupby(by)["unit"].nunique() for by in ("tier", "cohort")}
    never = a["unit_coh"] == 0
    shock = tuple(j for j in range(len(d.tiers)) if np.any(never & (a["unit_tier"] == j)))
    return _Structure(
        u=a["unit_idx"],
        t=a["time_idx"],
        k=a["obs_tier"],
        unit_coh=a["unit_coh"],
        unit_tier=a["unit_tier"],
        cell=a["obs_cell"],
        lead=a["obs_lead"],
        x=a.get("X", np.zeros((d.n_obs, 0))),
        n_tiers=len(d.tiers),
        n_periods=len(d.periods),
        n_cohorts=len(d.cohorts),
        cell_e=cells["event"].to_numpy(int),
        cell_g=cells["cohort"].map(coh_pos).to_numpy(int),
        cell_k=cells["tier"].map(tier_pos).to_numpy(int),
        n_leads=len(d.leads),
        shock_rows=shock if len(shock) > 1 else (),
        w_cohort=w_cohort,
        w_tier=w_tier,
        groups={
            "s_th": int(cells["event"].max()),  # random-walk steps
            "s_phi": int((units_per["cohort"] >= 2).sum()),
            "s_psi": int((units_per["tier"] >= 2).sum()),
            "s_pi": len(d.leads),
        },
    )


# --------------------------------------------------------------------------- simulator


def did_simulator(dataset: str, *, priors: Mapping[str, float] | None = None) -> Any:
    """Prior simulator of the documented model on a bundled design (see the module docstring)."""
    pr = {**DOCUMENTED_PRIORS, **dict(priors or {})}

    def simulate(rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        s = _structure(dataset)
        n_units = len(s.unit_coh)
        p: dict[str, Any] = {}
        p["mu"] = rng.normal(0.0, pr["mu"])
        lam = zero_sum_normal(rng, pr["lam"], (s.n_cohorts + 1,))
        loc = p["mu"] + lam[s.unit_coh]
        if s.n_tiers > 1:
            loc = loc + zero_sum_normal(rng, pr["eta"], (s.n_tiers,))[s.unit_tier]
        p["s_a"] = rng.gamma(2.0, pr["s_a"] / np.sqrt(6.0))  # shape 2, scale = 1 / rate
        p["alpha"] = rng.normal(loc, p["s_a"], n_units)
        p["gamma"] = zero_sum_normal(rng, pr["gamma"], (s.n_periods,))
        p["delta"] = np.zeros((s.n_tiers, s.n_periods))
        if s.shock_rows:
            n_shocks = (len(s.shock_rows) - 1) * (s.n_periods - 1)
            p["s_d"] = draw_group_scale(rng, n_shocks, pr["s_d"])
            z_d = zero_sum_normal(rng, 1.0, (len(s.shock_rows), s.n_periods), n_axes=2)
            p["delta"][list(s.shock_rows)] = p["s_d"] * z_d
        p["th_cov"] = rng.normal(0.0, pr["beta"], s.x.shape[1])
        # ATT array
        p["th0"] = rng.normal(0.0, pr["th0"])
        n_steps = int(s.cell_e.max())
        p["s_th"] = draw_group_scale(rng, s.groups["s_th"], pr["s_th"])
        theta = p["th0"] + np.r_[0.0, np.cumsum(p["s_th"] * rng.standard_normal(n_steps))]
        tau = theta[s.cell_e]
        if s.n_cohorts > 1:
            p["s_phi"] = draw_group_scale(rng, s.groups["s_phi"], pr["s_phi"])
            z = rng.standard_normal(s.n_cohorts)
            tau = tau + (p["s_phi"] * weighted_zero_sum_cov(s.w_cohort) @ z)[s.cell_g]
        if s.n_tiers > 1:
            p["s_psi"] = draw_group_scale(rng, s.groups["s_psi"], pr["s_psi"])
            z = rng.normal(0.0, p["s_psi"], s.n_tiers)
            tau = tau + (weighted_zero_sum_cov(s.w_tier) @ z)[s.cell_k]
        p["s_c"] = abs(rng.normal(0.0, pr["s_c"]))
        p["tau"] = tau + p["s_c"] * rng.standard_normal(len(tau))
        if s.n_leads:
            p["s_pi"] = draw_group_scale(rng, s.groups["s_pi"], pr["s_pi"])
            p["pi"] = p["s_pi"] * rng.standard_normal(s.n_leads)
        p["sigma"] = np.abs(rng.normal(0.0, pr["sigma"], s.n_tiers))
        mean = _mean(p, s)
        y = rng.normal(mean, p["sigma"][s.k])
        return {k: np.asarray(v, float) for k, v in p.items()}, {"y_std": y}

    return simulate


def _mean(p: Mapping[str, Any], s: _Structure) -> np.ndarray:
    """m_it + D tau + L pi for parameters with one leading draw axis or none."""
    alpha = np.asarray(p["alpha"], float)
    lead = alpha.shape[:-1]
    mean = alpha[..., s.u] + np.asarray(p["gamma"], float)[..., s.t]
    if "delta" in p:
        mean = mean + np.asarray(p["delta"], float)[..., s.k, s.t]
    if s.x.shape[1] and "th_cov" in p:
        mean = mean + np.asarray(p["th_cov"], float) @ s.x.T
    zero = np.zeros(lead + (1,))
    mean = mean + np.concatenate([np.asarray(p["tau"], float), zero], axis=-1)[..., s.cell]
    if s.n_leads:
        mean = mean + np.concatenate([np.asarray(p["pi"], float), zero], axis=-1)[..., s.lead]
    return mean


# --------------------------------------------------------------------------- quantities


def did_quantities(dataset: str, contrast: str) -> Any:
    """Checked quantities of one dataset's adapter, for truth (scalars) or (draw,) arrays."""

    def quantities(params: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
        from bayesres.did.aggregate import aggregate_draws

        d, s = did_sbc_design(dataset), _structure(dataset)
        out: dict[str, Any] = {}
        fixed_sd = group_scale_kind((len(s.shock_rows) - 1) * (s.n_periods - 1)) == "fixed"
        for name in ("th0", "s_c", "s_a", "s_d"):
            if name in params and not (name == "s_d" and fixed_sd):  # a fixed s_d is no draw
                out[name] = np.asarray(params[name], float)
        sigma = np.asarray(params["sigma"], float)
        for j, k in enumerate(d.tiers):
            out[f"sigma[{k}]"] = sigma[..., j]
        for name, n in s.groups.items():
            if group_scale_kind(n) != "fixed" and name in params:
                out[name] = np.asarray(params[name], float)
        cells = d.cells[["cohort", "event", "tier", "n"]]
        tiers = list(d.tiers) if d.has_tiers else None
        agg, _ = aggregate_draws(np.asarray(params["tau"], float), cells, tiers=tiers)
        out["ATT"] = agg["ATT"]
        out[f"ATT_tier_diff[{contrast}]"] = agg[f"ATT_tier_diff[{contrast}]"]
        y = np.asarray(data["y_std"], float)
        sd = sigma[..., s.k]
        z = (y - _mean(params, s)) / sd
        out["loglik"] = np.sum(-0.5 * z**2 - np.log(sd) - 0.5 * np.log(2 * np.pi), axis=-1)
        return out

    return quantities


# --------------------------------------------------------------------------- adapters


def _var_names(dataset: str) -> tuple[str, ...]:
    s = _structure(dataset)
    names = ["th0", "s_c", "s_a", "sigma", "alpha", "gamma", "tau"]
    if s.shock_rows:
        n_shocks = (len(s.shock_rows) - 1) * (s.n_periods - 1)
        names += ["delta"] if group_scale_kind(n_shocks) == "fixed" else ["s_d", "delta"]
    if s.x.shape[1]:
        names.append("th_cov")
    if s.n_leads:
        names.append("pi")
    names += [n for n, g in s.groups.items() if group_scale_kind(g) != "fixed"]
    return tuple(names)


CENTRING_OPTIONS = ("centre_cells", "centre_rw", "centre_psi")


def did_variant(dataset: str, y_std: np.ndarray) -> str:
    """The parametrisation ``bayesres did`` (``centring="auto"``) picks for outcome ``y_std`` on
    the dataset's design: the same pilot and rules (``did._centring``), e.g. "cells=nc rw=nc
    psi=c" (c: centred, nc: non-centred)."""
    from bayesres.did._centring import choose_forms, pilot_scales
    from bayesres.did.bayes import _n_groups

    d, s = did_sbc_design(dataset), _structure(dataset)
    treated = ((d.obs["cohort"] > 0) & (d.obs["event"] >= 0)).to_numpy()
    shocks = list(s.shock_rows) if d.option("tier_year_shocks") else []
    pilot = pilot_scales(
        np.asarray(y_std, float), s.u, s.t, s.k, treated, s.cell, d.cells, shocks, s.x
    )
    forms = choose_forms(
        "auto",
        pilot,
        d.option("att_prior"),
        cells=d.cells,
        n_tiers=s.n_tiers,
        n_tier_groups=_n_groups(d.obs, "tier"),
    )
    return " ".join(
        f"{name}={'c' if forms[opt] else 'nc'}"
        for name, opt in zip(("cells", "rw", "psi"), CENTRING_OPTIONS, strict=True)
    )


def _variant_options(variant: str) -> dict[str, bool]:
    flags = dict(part.split("=") for part in variant.split())
    return {
        opt: flags[name] == "c"
        for opt, name in zip(CENTRING_OPTIONS, ("cells", "rw", "psi"), strict=True)
    }


def _builder(dataset: str) -> Any:
    def build(variant: str | None = None) -> Any:
        from bayesres.did.bayes import model_from_design

        design = did_sbc_design(dataset)
        if variant is not None:
            new = _variant_options(variant)
            design = dataclasses.replace(
                design, options=tuple((k, new.get(k, v)) for k, v in design.options)
            )
        return model_from_design(design)

    return build


def did_calibration_model(name: str) -> CalibrationModel:
    dataset, contrast = DID_DATASETS[name]
    return CalibrationModel(
        name=name,
        description=f"shipped hierarchical DID (did.bayes, hierarchical ATT, leads {LEADS}, "
        f"target_accept {TARGET_ACCEPT}) on the {dataset} design, y* fixed-standardised",
        build=_builder(dataset),
        simulate=did_simulator(dataset),
        quantities=did_quantities(dataset, contrast),
        var_names=functools.partial(_var_names, dataset),
        target_accept=TARGET_ACCEPT,
        variant=lambda data: did_variant(dataset, data["y_std"]),
    )


for _name in DID_DATASETS:
    register(did_calibration_model(_name))
