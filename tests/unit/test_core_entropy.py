"""The exact entropy kernel against the worked example of methods.md section 1.1."""

from __future__ import annotations

import numpy as np
import pytest

from bayesres.index.entropy import entropy_from_normalised, entropy_weights, normalise

X = np.array([[5, 10, 3.0], [8, 40, 2.5], [6, 20, 4.0], [12, 90, 3.5]])
DIRS = [1, 1, -1]


def test_worked_example_delta0():
    r = entropy_weights(X, DIRS, shift=0.0)
    np.testing.assert_allclose(r.entropy, [0.6203, 0.5944, 0.7296], atol=1e-4)
    np.testing.assert_allclose(r.weights, [0.3596, 0.3842, 0.2562], rtol=1e-3)
    np.testing.assert_allclose(r.scores, [0.1708, 0.5544, 0.0994, 0.8292], atol=1e-4)


@pytest.mark.parametrize(("shift", "e", "w"), [
    (1e-4, [0.6209, 0.5949, 0.7300], [0.3596, 0.3842, 0.2561]),
    (0.01, [0.6506, 0.6271, 0.7503], [0.3594, 0.3836, 0.2569]),
])
def test_worked_example_shifted(shift, e, w):
    r = entropy_weights(X, DIRS, shift=shift)
    np.testing.assert_allclose(r.entropy, e, atol=1e-4)
    np.testing.assert_allclose(r.weights, w, rtol=1e-3)


def test_weighted_kernel_equals_plain_for_uniform_weights_and_clusters():
    z = normalise(X, DIRS)
    _, _, w = entropy_from_normalised(z)
    _, _, wu = entropy_from_normalised(z, unit_weights=np.full((3, 4), 0.25))
    np.testing.assert_allclose(wu, np.broadcast_to(w, (3, 4 - 1)), rtol=1e-12)


def test_weighted_kernel_equals_explicit_weighted_shares():
    # closed form: p_ij = pi_i z_ij / sum_i pi_i z_ij, e_j = -sum p ln p / ln n
    rng = np.random.default_rng(0)
    z = normalise(rng.normal(size=(12, 4)), [1, -1, 1, 1])
    pi = rng.dirichlet(np.ones(6), size=5)
    clusters = np.repeat(np.arange(6), 2)
    _, _, w = entropy_from_normalised(z, unit_weights=pi, clusters=clusters)
    for s in range(5):
        p = pi[s, clusters][:, None] * z
        p = p / p.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            e = -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=0) / np.log(12)
        d = 1 - e
        np.testing.assert_allclose(w[s], d / d.sum(), rtol=1e-10)


def test_constant_column_rejected():
    with pytest.raises(ValueError, match="constant"):
        normalise(np.array([[1.0, 2], [1, 3], [1, 4]]), [1, 1])
