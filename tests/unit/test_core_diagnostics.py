"""Gate logic on hand-made DataTrees with known properties."""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayesres.diagnostics import check_gates


def _tree(post: dict[str, np.ndarray], diverging: np.ndarray | None = None, energy: np.ndarray | None = None) -> xr.DataTree:
    ds = xr.Dataset({k: (("chain", "draw") + tuple(f"{k}_dim{i}" for i in range(v.ndim - 2)), v) for k, v in post.items()})
    children = {"posterior": xr.DataTree(ds)}
    stats = {}
    if diverging is not None:
        stats["diverging"] = (("chain", "draw"), diverging)
    if energy is not None:
        stats["energy"] = (("chain", "draw"), energy)
    if stats:
        children["sample_stats"] = xr.DataTree(xr.Dataset(stats))
    return xr.DataTree(children=children)


def test_iid_draws_pass():
    rng = np.random.default_rng(0)
    t = _tree({"a": rng.normal(size=(4, 1000)), "b": rng.normal(size=(4, 1000, 3))},
              diverging=np.zeros((4, 1000), bool), energy=rng.normal(size=(4, 1000)))
    rep = check_gates(t)
    assert rep.passed, rep.messages
    assert rep.r_hat_max < 1.01 and rep.ess_bulk_min > 400 and rep.divergences == 0


def test_stuck_chain_fails_rhat_and_divergences_counted():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 500))
    a[0] += 3.0  # one chain in a different place: R-hat far above 1.01
    div = np.zeros((4, 500), bool)
    div[1, :7] = True
    rep = check_gates(_tree({"a": a}, diverging=div))
    assert not rep.passed
    assert rep.divergences == 7
    assert any("R-hat" in m for m in rep.messages) and any("divergent" in m for m in rep.messages)


def test_short_chain_fails_ess_and_derived_quantities_are_gated():
    rng = np.random.default_rng(2)
    t = _tree({"a": rng.normal(size=(2, 60))})
    rep = check_gates(t)
    assert not rep.passed and any("ESS" in m for m in rep.messages)
    # an autocorrelated derived quantity fails even when parameters pass
    good = _tree({"a": rng.normal(size=(4, 1000))})
    walk = np.cumsum(rng.normal(size=(4, 1000)), axis=1)
    rep2 = check_gates(good, derived={"contrast": walk})
    assert not rep2.passed and rep2.worst["ess_bulk"] == "contrast"


def test_pareto_k_added_after_sampling_gates_the_fit():
    # a LOO computed after the fit (regression variants, DID leads vs no leads) must be able to
    # fail the gate: k-hat >= 0.7 (Vehtari et al. 2024) is named and flips passed
    rng = np.random.default_rng(0)
    rep = check_gates(_tree({"a": rng.normal(size=(4, 1000))}))
    assert rep.passed
    rep.add_pareto_k(0.55)
    assert rep.passed and rep.pareto_k_max == 0.55
    rep.add_pareto_k(0.83)
    assert not rep.passed and any("Pareto k 0.83" in m for m in rep.messages)


def test_convergence_off_gates_divergences_and_bfmi_only():
    # the pooled index-draw refits: a stuck chain is not gated (R-hat / ESS left unset) but a
    # divergence and a low E-BFMI still fail the fit, so the target_accept ladder still runs
    rng = np.random.default_rng(3)
    a = rng.normal(size=(2, 100))
    a[0] += 3.0
    rep = check_gates(_tree({"a": a}, diverging=np.zeros((2, 100), bool)), convergence=False)
    assert rep.passed and rep.messages == [] and not rep.convergence_checked
    assert np.isnan(rep.r_hat_max) and np.isnan(rep.ess_bulk_min) and rep.worst == {}
    div = np.zeros((2, 100), bool)
    div[0, 5] = True
    walk = np.cumsum(rng.normal(size=(2, 100)), axis=1)  # energy of a random walk: E-BFMI ~ 0
    rep2 = check_gates(_tree({"a": a}, diverging=div, energy=walk), convergence=False)
    assert not rep2.passed and rep2.divergences == 1
    assert any("divergent" in m for m in rep2.messages) and any("E-BFMI" in m for m in rep2.messages)
    assert not any("R-hat" in m or "ESS" in m for m in rep2.messages)
