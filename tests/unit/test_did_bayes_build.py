"""build_did_model: named variables, dims, cells, finite log-density at the initial point.

No sampling here. The reference for the mpdta cells is the R ``did`` package's panel (cohort sizes
20 / 40 / 131, 7 post-treatment (g, t) cells; methods.md section 5.1).
"""

from __future__ import annotations

import numpy as np
import pytest

from bayesres import datasets
from bayesres.did.bayes import DEFAULT_PRIORS, build_did_model, did_design
from bayesres.errors import SpecError
from bayesres.simulate.panel import simulate_staggered_panel
from bayesres.validate import validate_panel
from references import ecommerce_panel


def _sim_panel(seed: int = 0, controls: bool = False):
    df, truth = simulate_staggered_panel(
        n_units=40,
        n_periods=6,
        cohorts={0: 16, 3: 8, 4: 8, 5: 8},
        tiers={"a": 20, "b": 20},
        seed=seed,
    )
    ctrl = ()
    if controls:
        rng = np.random.default_rng(seed)
        df["x1"] = rng.standard_normal(len(df))
        df["x2"] = rng.standard_normal(len(df))
        df["xconst"] = df["unit"] * 0.1  # time-invariant: absorbed by the unit effects
        ctrl = ("x1", "x2", "xconst")
    panel = validate_panel(
        df,
        source="sim",
        unit="unit",
        time="period",
        cohort="cohort",
        outcome="y",
        tier="tier",
        controls=ctrl,
    )
    return panel, truth


def _finite_logp(model) -> None:
    """Every term of the log-density is finite at the initial point (python linker: no C/numba
    compile, which costs tens of seconds per model on a loaded 2-core machine)."""
    fn = model.compile_logp(sum=False, mode="FAST_COMPILE")
    terms = [float(np.sum(v)) for v in fn(model.initial_point())]
    assert len(terms) == len(model.free_RVs) + len(model.observed_RVs)
    assert all(np.isfinite(terms)), terms


def test_mpdta_cells_and_dims():
    df = datasets.load("mpdta")
    panel = validate_panel(
        df, source="mpdta", unit="countyreal", time="year", cohort="first.treat", outcome="lemp"
    )
    model, design = build_did_model(panel, att_prior="independent", tier_year_shocks=False)
    cells = design.cells
    assert list(zip(cells["cohort"], cells["time"], strict=True)) == [
        (2004, 2004),
        (2004, 2005),
        (2004, 2006),
        (2004, 2007),
        (2006, 2006),
        (2006, 2007),
        (2007, 2007),
    ]
    assert list(cells["n"]) == [20, 20, 20, 20, 40, 40, 131]
    assert model.named_vars_to_dims["tau"] == ("cell",)
    assert model.named_vars_to_dims["alpha"] == ("unit",)
    assert model.named_vars_to_dims["y"] == ("obs",)
    assert len(model.coords["unit"]) == 500 and len(model.coords["year"]) == 5
    assert "z_d" not in model.named_vars  # no tier: no tier-year shocks
    _finite_logp(model)
    # standardised outcome
    assert design.arrays["y_std"].mean() == pytest.approx(0.0, abs=1e-12)
    assert design.arrays["y_std"].std(ddof=1) == pytest.approx(1.0)


def test_hierarchical_model_has_the_documented_terms():
    panel, _ = _sim_panel()
    model, design = build_did_model(panel, leads=3)
    names = set(model.named_vars)
    for v in ("mu", "lam", "eta", "s_a", "alpha", "gamma", "s_d", "z_d", "th0", "rw"):
        assert v in names
    for v in ("theta", "z_phi", "psi", "s_c", "u_c", "tau", "tau_imp"):
        assert v in names
    assert {"pi", "s_pi", "sigma", "delta"} <= names
    # 3 random-walk steps, 3 cohorts, 2 tiers: fewer than 5 groups, so fixed scales (the prior
    # values); 6 leads: a learnt s_pi
    assert not {"s_th", "s_phi", "s_psi"} & names
    # both tiers have never-treated units, so both carry tier-year shocks
    assert design.option("shock_tiers") == ("a", "b")
    assert model.named_vars_to_dims["z_d"] == ("shock_tier", "year")
    assert model.named_vars_to_dims["delta"] == ("tier", "year")
    assert model.named_vars_to_dims["theta"] == ("event",)
    assert model.named_vars_to_dims["sigma"] == ("tier",)
    # cohorts 3, 4, 5 in periods 1..6: events 0..3; 3 + 2 + 1 = 6 leads (e = -3, -2)
    assert design.events == (0, 1, 2, 3)
    assert sorted(set(design.leads["event"])) == [-3, -2]
    # every observed treated (g, e, k) cell: (4 + 3 + 2) events x 2 tiers
    assert len(design.cells) == 18
    _finite_logp(model)


@pytest.mark.parametrize(
    ("opts", "present", "absent"),
    [
        ({"att_prior": "independent"}, {"tau"}, {"s_c", "u_c", "theta"}),
        ({"att_prior": "t_shrink"}, {"tau"}, {"s_c", "theta"}),
        ({"likelihood": "student"}, {"nu"}, set()),
        ({"ar1": True}, {"rho"}, set()),
        ({"tier_year_shocks": False}, set(), {"z_d", "s_d"}),
    ],
)
def test_options(opts, present, absent):
    panel, _ = _sim_panel()
    model, _ = build_did_model(panel, **opts)
    names = set(model.named_vars)
    assert present <= names and not (absent & names)
    _finite_logp(model)


def test_controls_are_within_unit_and_time_invariant_ones_dropped():
    panel, _ = _sim_panel(controls=True)
    model, design = build_did_model(panel)
    assert design.covariates == ("x1", "x2")
    x = design.arrays["X"]
    # QR-scaled columns: orthogonal with squared norm n - 1
    assert np.allclose(x.T @ x, (x.shape[0] - 1) * np.eye(2), atol=1e-8)
    assert model.named_vars_to_dims["beta"] == ("cov",)
    _finite_logp(model)


def test_structure_key_is_shared_by_panels_with_the_same_design():
    p1, _ = _sim_panel(seed=1)
    p2, _ = _sim_panel(seed=2)
    d1, d2 = did_design(p1), did_design(p2)
    assert d1.key() == d2.key()
    assert not np.array_equal(d1.arrays["y_std"], d2.arrays["y_std"])
    assert d1.key() != did_design(p1, att_prior="independent").key()


def test_bad_options_raise_spec_errors():
    panel, _ = _sim_panel()
    with pytest.raises(SpecError):
        build_did_model(panel, att_prior="flat")
    with pytest.raises(SpecError):
        build_did_model(panel, likelihood="cauchy")
    with pytest.raises(SpecError):
        build_did_model(panel, priors={"no_such_prior": 1.0})


def test_priors_are_overridable():
    panel, _ = _sim_panel()
    _, design = build_did_model(panel, priors={"s_c": 0.05})
    pri = dict(design.option("priors"))
    assert pri["s_c"] == 0.05 and pri["th0"] == DEFAULT_PRIORS["th0"]


def test_tier_year_shocks_only_for_tiers_with_never_treated_units():
    """ecommerce_panel: 'first' (4 cities) and 'new_first' (15) have no never-treated city
    (datasheet cohort x tier table), so their year shocks are pinned to the pooled ones."""
    panel = ecommerce_panel()
    units = panel.frame.drop_duplicates("city")
    never = set(units.loc[units["cohort"] == 0, "tier"])
    assert never == {"other", "second", "third"}
    model, design = build_did_model(panel)
    assert set(design.option("shock_tiers")) == never
    assert len(model.coords["shock_tier"]) == 3
    import pymc as pm

    # one prior draw (s_d > 0 almost surely)
    delta = pm.draw(model["delta"], random_seed=0, mode="FAST_COMPILE")
    rows = {k: i for i, k in enumerate(design.tiers)}
    assert np.all(delta[rows["first"]] == 0) and np.all(delta[rows["new_first"]] == 0)
    shocked = delta[[rows[k] for k in sorted(never)]]
    assert np.abs(shocked).min() > 0
    # zero-sum over the shocked tiers and over years
    assert np.allclose(shocked.sum(axis=0), 0) and np.allclose(shocked.sum(axis=1), 0)


def _big_panel():
    """W3's design scaled to 600 units x 20 periods (benchmarks/_workloads.py w3_panel)."""
    df, _ = simulate_staggered_panel(
        n_units=600,
        n_periods=20,
        cohorts={0: 240, 6: 60, 9: 72, 12: 96, 15: 132},
        tiers={"first": 60, "new_first": 120, "second": 180, "other": 240},
        seed=0,
        rho=0.3,
    )
    return validate_panel(
        df, source="sim", unit="unit", time="period", cohort="cohort", outcome="y", tier="tier"
    )


def test_centring_rule_centres_data_pinned_cells_only():
    """Cells and the event-time walk are centred where the pilot cell spread is > 2 standard
    errors (effects that differ by tier x event time, 6-60 units a cell); the bundled panels and
    the small simulated one keep the non-centred form."""
    model, design = build_did_model(_big_panel())
    assert design.option("centre_cells") and design.option("centre_rw")
    free = {rv.name for rv in model.free_RVs}
    assert {"tau", "th0", "d_theta", "s_th", "s_c"} <= free and not {"u_c", "rw"} & free
    assert model.named_vars_to_dims["theta"] == ("event",)
    _finite_logp(model)
    for panel in (ecommerce_panel(), _sim_panel()[0]):
        d = did_design(panel)
        assert not d.option("centre_cells") and not d.option("centre_rw")
        # ecommerce_panel: pilot tier spread 3.2 standard errors, so the tier terms stay
        # centred (as in every fit before the tier rule); the small panel's scale is fixed
        assert d.option("centre_psi")
    forced = did_design(_sim_panel()[0], centring="centred")
    # 3 random-walk steps: a fixed scale, so the walk stays a linear map of rw
    assert forced.option("centre_cells") and not forced.option("centre_rw")
    assert not did_design(_big_panel(), centring="noncentred").option("centre_cells")
    with pytest.raises(SpecError):
        did_design(_sim_panel()[0], centring="partial")


def test_posterior_predictive_replicates_follow_the_draws_mean_and_sd():
    """did.compare.posterior_predictive on a hand-made posterior (one draw per chain with known
    unit, year and cell effects): the replicates' mean per city-year is alpha_i + gamma_t +
    tau_cell (0 for untreated rows) and their sd sigma_k, within Monte Carlo error (closed
    form: se of a mean of 4,000 N(mu, s) draws is s / 63)."""
    import xarray as xr

    from bayesres.did.compare import posterior_predictive

    panel, _ = _sim_panel()
    d = did_design(panel, tier_year_shocks=False, leads=0)
    a = d.arrays
    n_u, n_t, n_c, n_k = (
        int(a["unit_idx"].max()) + 1, int(a["time_idx"].max()) + 1, len(d.cells),
        int(a["obs_tier"].max()) + 1,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    alpha, gamma = rng.normal(size=n_u), rng.normal(size=n_t)
    tau, sigma = rng.normal(size=n_c), np.linspace(0.5, 1.5, n_k)
    draws = 4000

    def rep(v: np.ndarray, dim: str) -> xr.DataArray:
        return xr.DataArray(np.broadcast_to(v, (draws, 1, len(v))).copy(),
                            dims=("chain", "draw", dim))  # fmt: skip

    post = xr.Dataset({
        "alpha": rep(alpha, "unit"), "gamma": rep(gamma, "year"), "tau": rep(tau, "cell"),
        "sigma": rep(sigma, "tier"),
    })  # fmt: skip
    tree = xr.DataTree.from_dict({"posterior": post})
    y = posterior_predictive(tree, d, n=draws, seed=1)
    cell = np.concatenate([tau, [0.0]])[a["obs_cell"]]
    mu = alpha[a["unit_idx"]] + gamma[a["time_idx"]] + cell
    sd = sigma[a["obs_tier"]]
    assert y.shape == (draws, len(mu))
    assert np.all(np.abs(y.mean(axis=0) - mu) < 5 * sd / np.sqrt(draws))
    assert np.all(np.abs(y.std(axis=0, ddof=1) / sd - 1) < 0.1)


def test_predictive_params_for_picked_draws_are_those_draws_of_the_full_array():
    """posterior_predictive computes the means of its picked draws only; they must be exactly
    the rows of the full (chain, draw, obs) computation (the reference: pick=None)."""
    import xarray as xr

    from bayesres.did.compare import predictive_params

    panel, _ = _sim_panel()
    d = did_design(panel, tier_year_shocks=False, leads=0)
    a = d.arrays
    sizes = {"unit": int(a["unit_idx"].max()) + 1, "year": int(a["time_idx"].max()) + 1,
             "cell": len(d.cells), "tier": int(a["obs_tier"].max()) + 1}  # fmt: skip
    rng = np.random.default_rng(2)
    post = xr.Dataset({
        name: xr.DataArray(rng.normal(size=(3, 7, sizes[dim])), dims=("chain", "draw", dim))
        for name, dim in (("alpha", "unit"), ("gamma", "year"), ("tau", "cell"))
    })  # fmt: skip
    post["sigma"] = xr.DataArray(
        rng.uniform(0.5, 2, (3, 7, sizes["tier"])), dims=("chain", "draw", "tier")
    )
    tree = xr.DataTree.from_dict({"posterior": post})
    mu, sd, nu = predictive_params(tree, d)
    pick = np.array([20, 0, 9, 13])
    mu_p, sd_p, nu_p = predictive_params(tree, d, pick=pick)
    np.testing.assert_array_equal(mu_p, mu.reshape(21, -1)[pick])
    np.testing.assert_array_equal(sd_p, sd.reshape(21, -1)[pick])
    assert nu is None and nu_p is None


def test_tau_imp_is_the_cell_mean_of_the_untreated_residual():
    # methods.md 3.6's imputation version: mean over the treated observations of cell c of
    # y* - m_it(0); reference computed in numpy from the model's own alpha / gamma / delta /
    # beta values at a random point (the PyMC graph does it with a segment sum)
    panel, _ = _sim_panel(seed=5, controls=True)
    model, design = build_did_model(panel)
    rng = np.random.default_rng(1)
    start = model.initial_point()
    point = [rng.normal(0.0, 0.5, size=np.shape(start[v.name])) for v in model.value_vars]
    fn = model.compile_fn(
        [model["tau_imp"], model["alpha"], model["gamma"], model["delta"], model["th_cov"]],
        inputs=model.value_vars,
        point_fn=False,
        on_unused_input="ignore",
    )
    tau_imp, alpha, gamma, delta, th_cov = fn(*point)
    a = design.arrays
    m0 = (
        alpha[a["unit_idx"]]
        + gamma[a["time_idx"]]
        + delta[a["obs_tier"], a["time_idx"]]
        + a["X"] @ th_cov
    )
    resid = a["y_std"] - m0
    ref = np.array([resid[a["obs_cell"] == c].mean() for c in range(len(design.cells))])
    np.testing.assert_allclose(tau_imp, ref, rtol=1e-10, atol=1e-12)
    # the averages are not trivially equal: cells differ
    assert np.ptp(ref) > 0.1
