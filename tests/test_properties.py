"""Property-based tests (hypothesis): invariances every Gaussian KL and every model must obey."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group

from lindiff import ddpm, memorization, onestep
from lindiff.gaussian import Gaussian, hellinger2, kl_divergence

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def gaussians(draw, d=None, max_log_cond=8.0):
    """A random Gaussian, with a covariance of condition number up to 10^max_log_cond."""
    d = d or draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    U = ortho_group.rvs(d, random_state=rng) if d > 1 else np.ones((1, 1))
    log_cond = draw(st.floats(0.0, max_log_cond))
    scale = 10 ** draw(st.floats(-3, 3))
    lam = scale * np.logspace(0, log_cond, d)
    return Gaussian(rng.normal(scale=3.0, size=d), (U * lam) @ U.T)


@st.composite
def pairs(draw, **kw):
    p = draw(gaussians(**kw))
    q = draw(gaussians(d=p.dim, **kw))
    return p, q


def rotate(g: Gaussian, Q, shift):
    return Gaussian(Q @ g.mean + shift, Q @ g.cov @ Q.T)


@SETTINGS
@given(pairs())
def test_kl_nonnegative_and_hellinger_in_unit_interval(pq):
    p, q = pq
    kl = kl_divergence(p, q)
    assert kl >= 0 and not math.isnan(kl)
    assert 0.0 <= hellinger2(p, q) <= 1.0


@SETTINGS
@given(gaussians())
def test_divergence_of_a_distribution_from_itself_is_zero(p):
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=1e-8 * p.dim)
    assert hellinger2(p, p) == pytest.approx(0.0, abs=1e-8)


@SETTINGS
@given(pairs(max_log_cond=4.0), st.integers(0, 2**32 - 1))
def test_kl_and_hellinger_invariant_under_common_rotation_and_shift(pq, seed):
    p, q = pq
    rng = np.random.default_rng(seed)
    Q = ortho_group.rvs(p.dim, random_state=rng) if p.dim > 1 else -np.ones((1, 1))
    shift = rng.normal(scale=5.0, size=p.dim)
    kl, kl_rot = kl_divergence(p, q), kl_divergence(rotate(p, Q, shift), rotate(q, Q, shift))
    assert kl_rot == pytest.approx(kl, rel=1e-6, abs=1e-9)
    h, h_rot = hellinger2(p, q), hellinger2(rotate(p, Q, shift), rotate(q, Q, shift))
    assert h_rot == pytest.approx(h, rel=1e-6, abs=1e-9)


@SETTINGS
@given(pairs(max_log_cond=5.0))
def test_kl_equals_dense_textbook_formula(pq):
    p, q = pq
    Qi = np.linalg.inv(q.cov)
    dm = q.mean - p.mean
    dense = 0.5 * (np.trace(Qi @ p.cov) - p.dim + dm @ Qi @ dm
                   + np.linalg.slogdet(q.cov)[1] - np.linalg.slogdet(p.cov)[1])
    # the dense formula loses about cond(q) * eps in absolute terms
    tol = 1e-7 * (1 + abs(dense)) * (1 + np.linalg.cond(q.cov) * 1e-9)
    assert kl_divergence(p, q) == pytest.approx(dense, rel=1e-6, abs=tol)


@st.composite
def training_sets(draw, max_d=6):
    d = draw(st.integers(1, max_d))
    n = draw(st.integers(2, 3 * d + 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.normal(size=d) + rng.normal(size=(n, d)) @ np.diag(10 ** rng.uniform(-1, 1, d))
    return X, rng


@SETTINGS
@given(training_sets(), st.floats(0.05, 5.0), st.floats(1e-3, 10.0))
def test_onestep_model_is_rotation_equivariant(data, T, ell):
    X, rng = data
    d = X.shape[1]
    Q = ortho_group.rvs(d, random_state=rng) if d > 1 else -np.ones((1, 1))
    shift = rng.normal(size=d)
    p = onestep.generated_distribution(X, T, ell)
    p_rot = onestep.generated_distribution(X @ Q.T + shift, T, ell)
    np.testing.assert_allclose(p_rot.mean, Q @ p.mean + shift, atol=1e-8 * (1 + np.abs(X).max()))
    np.testing.assert_allclose(p_rot.cov, Q @ p.cov @ Q.T, atol=1e-9 * (1 + np.abs(p.cov).max()))
    target = Gaussian(np.zeros(d), np.eye(d))
    assert kl_divergence(p_rot, rotate(target, Q, shift)) == pytest.approx(
        kl_divergence(p, target), rel=1e-6, abs=1e-9)


@SETTINGS
@given(training_sets(max_d=5), st.sampled_from([0.0, 0.3]), st.sampled_from([math.inf, 5.0]),
       st.booleans())
def test_ddpm_sampling_distribution_is_rotation_equivariant(data, ridge, train_time, center):
    X, rng = data
    d = X.shape[1]
    Q = ortho_group.rvs(d, random_state=rng) if d > 1 else -np.ones((1, 1))
    kw = dict(T=100, ridge=ridge, train_time=train_time, center=center)
    p = ddpm.sampling_distribution(X, **kw)
    p_rot = ddpm.sampling_distribution(X @ Q.T, **kw)
    np.testing.assert_allclose(p_rot.mean, Q @ p.mean, atol=1e-8 * (1 + np.abs(X).max()))
    np.testing.assert_allclose(p_rot.cov, Q @ p.cov @ Q.T, atol=1e-8 * (1 + np.abs(p.cov).max()))


@SETTINGS
@given(training_sets(max_d=5), st.integers(0, 2**32 - 1))
def test_memorization_statistic_is_rotation_and_shift_invariant(data, seed):
    X, rng = data
    d = X.shape[1]
    Q = ortho_group.rvs(d, random_state=rng) if d > 1 else -np.ones((1, 1))
    shift = rng.normal(size=d)
    ref = X.mean(0) + np.random.default_rng(seed).normal(size=(50, d))
    p = onestep.generated_distribution(X, 1.0, 0.5)
    stat = memorization.memorization_statistic(p, X, ref, 1.0)
    stat_rot = memorization.memorization_statistic(rotate(p, Q, shift), X @ Q.T + shift, ref @ Q.T + shift, 1.0)
    assert stat_rot == pytest.approx(stat, rel=1e-7, abs=1e-8)


# ------------------------------------------------------------------- extreme but valid input
EXTREME = [
    ("onestep N = d + 1", lambda rng: onestep.kl_to_target(rng.normal(size=(201, 200)), 2.0, math.exp(-4), 0.0, 1.0)),
    ("onestep d = 200, N = 150", lambda rng: onestep.kl_to_target(rng.normal(size=(150, 200)), 2.0, 0.02, 0.0, 1.0)),
    ("onestep noise 1e-8", lambda rng: onestep.kl_to_target(rng.normal(size=(150, 100)), 2.0, 1e-8, 0.0, 1.0)),
    ("onestep T = 20", lambda rng: onestep.kl_to_target(rng.normal(size=(150, 100)), 20.0, 1.0, 0.0, 1.0)),
    ("onestep T = 20 reverse", lambda rng: onestep.kl_from_target(rng.normal(size=(150, 100)), 20.0, 1.0, 0.0, 1.0)),
    ("onestep limit gamma = 1 - 1e-15", lambda rng: onestep.kl_proportional_limit(1 - 1e-15, 2.0, 1e-8, 1.0)),
    ("onestep infinite data T = 20", lambda rng: onestep.kl_infinite_data(100, 20.0, 1.0, 1.0)),
    ("ddpm k = 3", lambda rng: kl_divergence(ddpm.power_law_target(50, 3.0),
                                             ddpm.sampling_distribution(ddpm.power_law_training_set(100, 50, 3.0, rng)[0]))),
    ("ddpm training time 1e6", lambda rng: kl_divergence(
        ddpm.power_law_target(50, 1.0),
        ddpm.sampling_distribution(ddpm.power_law_training_set(30, 50, 1.0, rng)[0], train_time=1e6))),
    ("ddpm N = d + 1, d = 200", lambda rng: kl_divergence(
        ddpm.sampling_distribution(ddpm.power_law_training_set(201, 200, 1.0, rng)[0]), ddpm.power_law_target(200, 1.0))),
    ("memorization d = 200", lambda rng: memorization.memorization_statistic(
        onestep.generated_distribution(rng.normal(size=(20, 200)), 2.0, 1e-8), rng.normal(size=(20, 200)),
        rng.normal(size=(500, 200)), 1.0)),
]


@pytest.mark.parametrize("name, compute", EXTREME, ids=[e[0] for e in EXTREME])
def test_extreme_valid_input_is_finite_or_inf_never_nan_and_silent(name, compute):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may escape to the reader
        value = compute(np.random.default_rng(0))
    assert not math.isnan(value), name
    assert value >= 0 or name.startswith("memorization")
