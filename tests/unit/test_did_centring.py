"""The tier-term centring rule of the hierarchical DID (``did._centring``).

``_tier_spread`` is checked against closed forms: with exact residuals (no noise) the tier terms
in the model's coordinates are psi = t - w't (t: tier effects, first tier 0; w: treated share
per tier), which already satisfy w'psi = 0, so s_psi = |psi| / sqrt(K - 1) whatever basis the
code uses; with two tiers and one event the standard error is the cluster-robust (by unit)
standard error of a difference of two means, written out by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesres.did._centring import CENTRE_RATIO, _tier_spread, centre_tier_terms


def _layout(n_tiers: int, n_events: int, n: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Cells of a full tier x event grid (one cohort) and their additive design: event
    dummies, then tier dummies without the first tier (pilot_scales' column order)."""
    k, e = np.meshgrid(np.arange(n_tiers), np.arange(n_events), indexing="ij")
    cells = pd.DataFrame({"k_idx": k.ravel(), "e_idx": e.ravel(), "n": n[k.ravel()]})
    x = np.column_stack([np.eye(n_events)[cells["e_idx"]], np.eye(n_tiers)[cells["k_idx"]][:, 1:]])
    return cells, x


def test_tier_spread_of_exact_residuals_is_the_rms_of_the_weighted_zero_sum_terms():
    t = np.array([0.0, 0.4, -0.3, 0.9, 0.1])
    n = np.array([4.0, 15.0, 30.0, 60.0, 120.0])  # treated units per tier: unequal weights
    cells, x = _layout(5, 6, n)
    event = np.linspace(-0.2, 0.5, 6)
    obs_cell = np.repeat(np.arange(len(cells)), 3)  # three observations a cell
    r = (event[cells["e_idx"]] + t[cells["k_idx"]])[obs_cell]
    out = _tier_spread(r, x[obs_cell], np.arange(len(r)) % 7, cells, n_before=6)
    w = n / n.sum()
    psi = t - w @ t
    assert out["s_psi"] == pytest.approx(np.sqrt(psi @ psi / 4), rel=1e-6)
    assert out["se_psi"] < 1e-6


def test_tier_spread_standard_error_is_cluster_robust_by_unit():
    # two equally weighted tiers, one event: z = (t_0 - t_1) / sqrt(2), and the cluster-robust
    # variance of a difference of tier means is G / (G - 1) * sum_k sum_{u in k} S_u^2 / N_k^2
    # (S_u: the sum of unit u's residuals around its tier mean, N_k: observations of tier k)
    rng = np.random.default_rng(0)
    cells, x = _layout(2, 1, np.array([6.0, 6.0]))
    unit = np.repeat(np.arange(12), 4)  # 12 units, 4 observations each
    tier = (unit >= 6).astype(int)
    r = 0.7 * tier + rng.normal(0, 0.5, 12)[unit] + rng.normal(0, 0.3, len(unit))
    out = _tier_spread(r, x[tier], unit, cells, n_before=1)
    e = r - np.array([r[tier == 0].mean(), r[tier == 1].mean()])[tier]
    s_u = np.bincount(unit, e)
    var_diff = 12 / 11 * sum(np.sum(s_u[np.unique(unit[tier == k])] ** 2) / 24**2 for k in (0, 1))
    assert out["se_psi"] == pytest.approx(np.sqrt(var_diff / 2), rel=1e-9)
    diff = r[tier == 1].mean() - r[tier == 0].mean()
    assert out["s_psi"] == pytest.approx(np.sqrt(max(diff**2 / 2 - var_diff / 2, 0.0)), rel=1e-9)


def test_tier_spread_undefined_for_one_tier():
    cells, x = _layout(1, 4, np.array([5.0]))
    out = _tier_spread(np.zeros(4), x, np.arange(4), cells, n_before=4)
    assert np.isnan(out["s_psi"]) and np.isnan(out["se_psi"])


@pytest.mark.parametrize(
    ("centring", "ratio", "learnt", "att_prior", "centred"),
    [
        ("auto", CENTRE_RATIO + 0.1, True, "hierarchical", True),  # pinned tiers: centred
        ("auto", CENTRE_RATIO - 0.1, True, "hierarchical", False),  # funnel regime
        ("auto", 0.0, False, "hierarchical", True),  # fixed scale: the old form
        ("noncentred", 9.0, True, "hierarchical", False),
        ("centred", 0.0, True, "hierarchical", True),
        ("noncentred", 0.0, False, "hierarchical", True),  # fixed scale is a linear map
        ("auto", 0.0, True, "independent", True),  # no tier terms
    ],
)
def test_centre_tier_terms(centring, ratio, learnt, att_prior, centred):
    pilot = {"s_psi": ratio * 0.1, "se_psi": 0.1}
    assert centre_tier_terms(centring, pilot, att_prior, learnt=learnt) is centred


def test_centre_tier_terms_undefined_pilot_is_noncentred():
    pilot = {"s_psi": np.nan, "se_psi": np.nan}
    assert centre_tier_terms("auto", pilot, "hierarchical", learnt=True) is False


def test_cell_spread_with_equal_variances_is_rss_over_df_minus_the_variance():
    # equal sampling variances: the weighted estimator reduces to the unweighted moment
    # estimator RSS / (cells - rank) - v
    from bayesres.did._centring import _cell_spread

    cells, x = _layout(3, 5, np.array([10.0, 10.0, 10.0]))
    rng = np.random.default_rng(1)
    est = x @ rng.normal(size=x.shape[1]) + rng.normal(0.0, 0.4, len(cells))
    v = 0.02
    coef, *_ = np.linalg.lstsq(x, est, rcond=None)
    rss = float(np.sum((est - x @ coef) ** 2))
    df = len(cells) - np.linalg.matrix_rank(x)
    assert _cell_spread(est, np.full(len(cells), v), x) == pytest.approx(rss / df - v, rel=1e-9)


def test_cell_spread_intercept_only_is_dersimonian_laird():
    # one common mean: tau^2 = (Q - (k - 1)) / (sum w - sum w^2 / sum w), DerSimonian and Laird
    # (1986), written out here with the inverse-variance weighted mean
    from bayesres.did._centring import _cell_spread

    est = np.array([0.1, 0.5, -0.2, 0.9, 0.3, 0.0])
    var = np.array([0.01, 0.04, 0.02, 0.30, 0.05, 0.01])
    w = 1 / var
    mean = np.sum(w * est) / w.sum()
    q = np.sum(w * (est - mean) ** 2)
    tau2 = (q - 5) / (w.sum() - np.sum(w**2) / w.sum())
    assert _cell_spread(est, var, np.ones((6, 1))) == pytest.approx(tau2, rel=1e-12)


def test_cell_spread_is_not_driven_by_noisy_cells():
    # no spread at all, one tier 30x noisier than the others: the unweighted moment estimator
    # (RSS / df - mean variance) reads the noisy tier's scatter as spread, the weighted one
    # does not (the SBC data set of the docstring, in miniature)
    from bayesres.did._centring import _cell_spread

    cells, x = _layout(3, 8, np.array([10.0, 10.0, 10.0]))
    var = np.where(cells["k_idx"].to_numpy() == 1, 0.9, 0.001)
    rng = np.random.default_rng(2)
    unweighted, weighted = [], []
    for _ in range(200):
        est = rng.normal(0.0, np.sqrt(var))
        coef, *_ = np.linalg.lstsq(x, est, rcond=None)
        rss = float(np.sum((est - x @ coef) ** 2))
        df = len(cells) - np.linalg.matrix_rank(x)
        unweighted.append(max(rss / df - var.mean(), 0.0))
        weighted.append(_cell_spread(est, var, x))
    # truth 0: the weighted estimate stays within a few per cent of one noisy cell's variance
    assert np.mean(weighted) < 0.05 * 0.9
    assert np.mean(unweighted) > 10 * np.mean(weighted)  # measured: 0.064 against 0.0003
