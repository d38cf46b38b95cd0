"""lindiff.neural: trained denoisers against the closed forms of the linear theory.

The linear architecture, trained here by Adam with sampled steps and noise,
must reach the loss minimizer of :mod:`lindiff.ddpm` and sample its exact
Gaussian; the sampler alone is checked with the closed-form weights plugged
in; the MLP must memorize a tiny training set. The sample-based measures are
checked against brute-force loops and, for Gaussian generators, against the
exact statistics of :mod:`lindiff.memorization`.
"""

import json
import math

import numpy as np
import pytest

from lindiff import Gaussian, ddpm, kl_divergence, neural
from lindiff import memorization as mem

SCHED = dict(T=10, beta_min=1e-2, beta_max=0.4)


def linear_data():
    rng = np.random.default_rng(5)
    return rng.standard_normal((8, 3)) * np.array([1.5, 1.0, 0.5]) + np.array([0.3, -0.2, 0.1])


def closed_form_params(X, T, beta_min, beta_max):
    """Dense W_t and b_t = -sqrt(abar_t) W_t xbar of the minimizer (center=True)."""
    fit = ddpm.empirical_spectrum(X)
    _, ab = ddpm.linear_schedule(T, beta_min, beta_max)
    w = ddpm.minimizer_weights(fit.eigvals, ab)
    W = np.einsum("ij,tj,kj->tik", fit.eigvecs, w, fit.eigvecs)
    b = -np.sqrt(ab)[:, None] * (W @ fit.mean)
    return W, b


def covariance_z(samples, p):
    """Largest |sample cov - exact| in units of its Monte-Carlo standard error."""
    C = np.cov(samples.T)
    v = np.diag(p.cov)
    se = np.sqrt((np.outer(v, v) + p.cov**2) / len(samples))
    zm = np.abs(samples.mean(axis=0) - p.mean) / np.sqrt(v / len(samples))
    return float(np.max(np.abs(C - p.cov) / se)), float(np.max(zm))


@pytest.mark.slow
def test_trained_linear_denoiser_converges_to_the_ddpm_minimizer():
    X = linear_data()
    net = neural.train_denoiser(X, "linear", steps=3000, batch_size=512, learning_rate=3e-2, decay=True,
                                seed=0, **SCHED)
    W, b = closed_form_params(X, **SCHED)
    np.testing.assert_allclose(np.asarray(net.params["W"]), W, atol=0.06)
    np.testing.assert_allclose(np.asarray(net.params["b"]), b, atol=0.06)
    p = ddpm.sampling_distribution(X, **SCHED)
    z_cov, z_mean = covariance_z(net.sample(40_000, seed=1), p)
    assert z_cov < 4.5 and z_mean < 4.5, (z_cov, z_mean)
    # the loss history falls from the loss of eps = 0 (d per step) to near the minimum
    assert net.loss_history[0] > 1.5 * net.loss_history[-1]


def test_sampler_with_the_closed_form_weights_samples_the_exact_gaussian():
    X = linear_data()
    W, b = closed_form_params(X, **SCHED)
    net = neural.TrainedDenoiser("linear", 3, SCHED["T"], SCHED["beta_min"], SCHED["beta_max"], 0, 0, 0,
                                 np.array([]), 1, 0, {"W": W.astype(np.float32), "b": b.astype(np.float32)})
    p = ddpm.sampling_distribution(X, **SCHED)
    z_cov, z_mean = covariance_z(net.sample(60_000, seed=2), p)
    assert z_cov < 4.5 and z_mean < 4.5, (z_cov, z_mean)
    # eps_theta is W_t x + b_t at the step asked for
    x = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(net.predict_noise(x, 4), x @ W[3].T + b[3], rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_mlp_memorizes_a_tiny_training_set():
    d, N, T = 8, 4, 50
    X = np.random.default_rng(0).standard_normal((N, d))
    net = neural.train_denoiser(X, "mlp", T=T, beta_min=1e-3, beta_max=0.2, steps=2000, batch_size=64,
                                learning_rate=3e-3, width=64, depth=2, seed=0)
    hist = net.loss_history
    assert hist.shape == (100,) and hist[-1] < 0.25 * hist[0]
    # below the Bayes loss of the population (mean over t of the optimal linear loss for N(0, I)):
    # impossible on average for a denoiser that does not use the training points themselves
    _, ab = ddpm.linear_schedule(T, 1e-3, 0.2)
    assert hist[-1] < 0.8 * ddpm.optimal_loss(np.ones(d), ab).mean()
    S = net.sample(200, seed=1)
    assert neural.copy_fraction(S, X) > 0.9
    fresh = np.random.default_rng(1).standard_normal((200, d))
    assert neural.copy_fraction(fresh, X) < 0.1


def test_same_seed_same_model_and_checkpoints_are_prefixes():
    X = np.random.default_rng(3).standard_normal((6, 4))
    kw = dict(arch="mlp", T=20, steps=30, batch_size=8, width=16, depth=1, learning_rate=1e-2)
    a = neural.train_denoiser(X, seed=1, **kw)
    b = neural.train_denoiser(X, seed=1, **kw)
    c = neural.train_denoiser(X, seed=2, **kw)
    np.testing.assert_array_equal(a.sample(10, seed=3), b.sample(10, seed=3))
    np.testing.assert_array_equal(a.loss_history, b.loss_history)
    assert not np.array_equal(a.sample(10, seed=3), c.sample(10, seed=3))
    assert not np.array_equal(a.sample(10, seed=3), a.sample(10, seed=4))
    runs = neural.train_denoiser(X, seed=1, checkpoints=(10, 30), **dict(kw, steps=30))
    assert [r.steps for r in runs] == [10, 30]
    short = neural.train_denoiser(X, seed=1, **dict(kw, steps=10))
    np.testing.assert_array_equal(runs[0].sample(10, seed=3), short.sample(10, seed=3))
    np.testing.assert_array_equal(runs[1].sample(10, seed=3), a.sample(10, seed=3))
    # one compiled program serves every N up to the padded size
    assert neural.train_denoiser(X[:3], seed=1, **kw).loss_history.size == 30


def test_copy_fraction_and_ratios_against_a_loop():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5))
    S = np.concatenate([X[:10] + 0.01 * rng.standard_normal((10, 5)), rng.standard_normal((20, 5))])
    near, second, ratio, index = neural.nearest_neighbor_ratios(S, X)
    for i, y in enumerate(S):
        dist = np.sort(np.linalg.norm(X - y, axis=1))
        np.testing.assert_allclose([near[i], second[i]], dist[:2], rtol=1e-9)
        assert index[i] == np.argmin(np.linalg.norm(X - y, axis=1))
    brute = np.mean([np.sort(np.linalg.norm(X - y, axis=1))[0] < np.sort(np.linalg.norm(X - y, axis=1))[1] / 3
                     for y in S])
    assert neural.copy_fraction(S, X) == pytest.approx(brute)
    assert neural.copy_fraction(S[:10], X) == 1.0
    assert neural.copy_fraction(S, X, ratio=0.999) > neural.copy_fraction(S, X)
    # exact duplicates: ratio 0, copied
    assert neural.copy_fraction(np.vstack([X[0], X[0]]), np.vstack([X[0], X[0], X[1]])) == 1.0


def test_sample_statistics_converge_to_the_exact_gaussian_values():
    rng = np.random.default_rng(1)
    d = 3
    X = rng.standard_normal((4, d))
    R = rng.standard_normal((300, d))
    p = ddpm.sampling_distribution(X, T=50, beta_max=0.2)
    S = p.sample(40_000, np.random.default_rng(2))     # Monte-Carlo error about 0.005 here
    exact = mem.memorization_statistic(p, X, R, 1.0)
    est = neural.sample_memorization_statistic(S, X, R, 1.0)
    assert abs(est - exact) < 0.02, (est, exact)
    delta = mem.relative_distance(p, X, R, 1.0)
    est_delta = neural.sample_relative_distance(S, X, R, 1.0)
    assert abs(est_delta - delta) < 0.01 * abs(delta), (est_delta, delta)
    # passing the reference excess changes nothing
    x_ref = mem.log_self_overlap_excess(R, 1.0)
    assert neural.sample_relative_distance(S, X, R, 1.0, reference_excess=x_ref) == pytest.approx(est_delta)


def test_gaussian_fit_kl_and_direction_variances():
    rng = np.random.default_rng(4)
    S = rng.standard_normal((50, 3)) @ np.diag([2.0, 1.0, 0.5])
    target = Gaussian(np.zeros(3), np.eye(3))
    fit = Gaussian(S.mean(0), np.cov(S.T))
    ts, st = neural.gaussian_fit_kl(S, target)
    assert ts == pytest.approx(kl_divergence(target, fit) / 3) and st == pytest.approx(kl_divergence(fit, target) / 3)
    Q = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    v = neural.direction_variances(S, Q)
    np.testing.assert_allclose(v, [np.var(S @ Q[:, k], ddof=1) for k in range(3)], rtol=1e-12)
    np.testing.assert_allclose(v.sum(), np.trace(np.cov(S.T)), rtol=1e-12)
    m = neural.measures(S, S[:10], rng.standard_normal((20, 3)), target, 1.0)
    assert m["copy_fraction"] == pytest.approx(10 / 50) and m["nn_median"] >= 0
    assert m["kl_ts"] == pytest.approx(ts)


def test_epoch_budget_and_experiments_are_reproducible():
    assert neural.epoch_steps(45, 10, 128) == 10 and neural.epoch_steps(945, 10, 128) == 80
    X = np.arange(40.0).reshape(20, 2)
    assert neural.author_training_set(X).shape == (18, 2)
    a = neural.experiment("gaussian", 16, seed=3, d=8, reference_size=30)
    b = neural.experiment("gaussian", 16, seed=3, d=8, reference_size=30)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.held_out, neural.experiment("gaussian", 32, seed=3, d=8, reference_size=30).held_out)
    pl = neural.experiment("power_law", 16, seed=0, d=8, reference_size=30)
    np.testing.assert_allclose(pl.std, np.exp(0.5 * np.mean(np.log(ddpm.power_law_spectrum(8, 1.0)))))
    assert a.std == 1.0 and a.N == 16
    lin = neural.baseline_samples("linear", a.X, 5, seed=1, T=20)
    np.testing.assert_array_equal(lin, neural.baseline_samples("linear", a.X, 5, seed=1, T=20))


@pytest.mark.parametrize("kwargs, name", [
    (dict(X=np.full((4, 2), np.nan)), "X"),
    (dict(X=np.ones(4)), "X"),
    (dict(X=np.ones((1, 3))), "X"),
    (dict(arch="unet"), "arch"),
    (dict(steps=0), "steps"),
    (dict(T=0), "T"),
    (dict(width=0), "width"),
    (dict(batch_size=0), "batch_size"),
    (dict(learning_rate=-1.0), "learning_rate"),
    (dict(beta_max=1.5), "beta_max"),
    (dict(checkpoints=(5, 50)), "checkpoints"),
])
def test_bad_training_input_names_the_parameter(kwargs, name):
    args = dict(X=np.random.default_rng(0).standard_normal((5, 3)), arch="mlp", T=10, steps=10, width=8, depth=1)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError)) as info:
        neural.train_denoiser(**args)
    assert name in str(info.value)


def test_bad_sampling_and_measure_input_names_the_parameter():
    X = np.random.default_rng(0).standard_normal((5, 3))
    net = neural.train_denoiser(X, "linear", T=5, steps=2, batch_size=4)
    with pytest.raises(ValueError, match="n"):
        net.sample(0)
    with pytest.raises(ValueError, match="t"):
        net.predict_noise(X, 6)
    with pytest.raises(ValueError, match="ratio"):
        neural.copy_fraction(X, X, ratio=1.5)
    with pytest.raises(ValueError, match="samples"):
        neural.copy_fraction(np.ones((3, 4)), X)
    with pytest.raises(ValueError, match="samples"):
        neural.copy_fraction(np.full((3, 3), np.inf), X)
    with pytest.raises(ValueError, match="kind"):
        neural.experiment("mnist", 16)
    with pytest.raises(ValueError, match="protocol"):
        neural.train_protocol(X, "forever")
    with pytest.raises(ValueError, match="model"):
        neural.baseline_samples("unet", X, 3)


@pytest.mark.slow
def test_runner_writes_its_results_file(tmp_path):
    out = tmp_path / "r.json"
    neural.main(["--quick", "--out", str(out)])
    r = json.loads(out.read_text())
    assert r["command"].startswith("python -m lindiff.neural --quick")
    models = {(row["model"], row["protocol"]) for row in r["records"]}
    assert models == {("linear", "exact"), ("empirical", "exact"), ("mlp", "steps"), ("mlp", "epochs")}
    emp = [row for row in r["records"] if row["model"] == "empirical"]
    assert all(row["copy_fraction"] > 0.9 for row in emp)      # the perfect copier copies
    assert r["frames"] and len(r["frames"][0]["samples"]) == 2
    assert all(math.isfinite(row["nn_median"]) for row in r["records"])
