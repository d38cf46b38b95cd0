"""The bidiagonal Wishart sampler against sample covariances of real Gaussian data."""

import numpy as np
import pytest
from scipy import stats

from lindiff.wishart import isotropic_training_statistics, wishart_eigenvalues


def dense_eigs(d, n, rng, size):
    out = []
    for _ in range(size):
        Z = rng.standard_normal((n, d))
        out.append(np.linalg.eigvalsh(Z.T @ Z))
    return np.array(out)


@pytest.mark.parametrize("d, dof", [(1, 3), (4, 4), (5, 9), (12, 40)])
def test_moments_match_wishart(d, dof):
    rng = np.random.default_rng(d * 100 + dof)
    ev = wishart_eigenvalues(d, dof, rng, size=20_000)
    tr, tr2 = ev.sum(1), (ev**2).sum(1)
    # E tr W = n d, E tr W² = n d (n + d + 1)
    assert tr.mean() == pytest.approx(dof * d, rel=4 * tr.std() / np.sqrt(len(tr)) / (dof * d) + 1e-3)
    assert tr2.mean() == pytest.approx(dof * d * (dof + d + 1), rel=0.02)


@pytest.mark.parametrize("d, dof", [(3, 3), (5, 8)])
def test_extreme_eigenvalues_have_the_dense_distribution(d, dof):
    rng = np.random.default_rng(7)
    a = wishart_eigenvalues(d, dof, rng, size=4000)
    b = dense_eigs(d, dof, rng, 4000)
    for k in (0, d - 1):  # smallest and largest eigenvalue
        assert stats.ks_2samp(a[:, k], b[:, k]).pvalue > 1e-3


def test_training_statistics_match_real_data():
    rng = np.random.default_rng(3)
    d, n, sigma, reps = 6, 10, 1.7, 4000
    lam, m2, s2 = isotropic_training_statistics(d, n, sigma, rng, size=reps)
    real = []
    for _ in range(reps):
        X = 5 + sigma * rng.standard_normal((n, d))
        Xc = X - X.mean(0)
        real.append((np.linalg.eigvalsh(Xc.T @ Xc / n)[0], np.sum((X.mean(0) - 5) ** 2),
                     np.mean(np.var(X, axis=0, ddof=1))))
    real = np.array(real)
    assert stats.ks_2samp(lam[:, 0], real[:, 0]).pvalue > 1e-3
    assert stats.ks_2samp(m2, real[:, 1]).pvalue > 1e-3
    assert stats.ks_2samp(s2, real[:, 2]).pvalue > 1e-3
    np.testing.assert_allclose(s2, lam.sum(1) * n / ((n - 1) * d))


def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="dof must be >= d"):
        wishart_eigenvalues(5, 4, rng)
    with pytest.raises(TypeError, match="rng must be"):
        wishart_eigenvalues(5, 5, 0)
    with pytest.raises(ValueError, match="n must be > d"):
        isotropic_training_statistics(5, 5, 1.0, rng)
    with pytest.raises(ValueError, match="sigma must be in"):
        isotropic_training_statistics(5, 9, 0.0, rng)

