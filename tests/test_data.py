"""lindiff.data (the sample images, patches, pool, power-law fit, the fourth-moment
theory of the d/N law, statistics) and lindiff.empirical (the exact denoiser of the
empirical distribution and its smoothed version).

Every closed form is checked against an independent computation: explicit
loops, dense Gaussian densities, numerical gradients, and the linear DDPM of
lindiff.ddpm where the two models must agree.
"""

import math
import socket
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from lindiff import Gaussian, data, ddpm, empirical, kl_divergence
from lindiff import memorization as mem


# --------------------------------------------------------------------------- offline loading
def test_photograph_lives_in_matplotlib_installed_data():
    path = data.sample_image_path()
    mpl_data = Path(matplotlib.get_data_path()).resolve()
    assert path.is_file()
    assert mpl_data in path.resolve().parents
    assert path.name == data.SAMPLE_IMAGE


def test_loader_needs_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    data._photograph.cache_clear()
    img = data.load_grayscale()
    assert img.shape == (600, 512)
    assert img.dtype == float and 0.0 <= img.min() and img.max() <= 1.0
    # 8-bit grayscale: every value is k/255
    np.testing.assert_allclose(img * 255, np.round(img * 255), atol=1e-9)


def test_grayscale_is_the_601_luma_of_the_rgb_file():
    from PIL import Image

    with Image.open(data.sample_image_path()) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=float)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    # Pillow rounds the integer luma; allow one gray level
    assert np.max(np.abs(data.load_grayscale() * 255 - luma)) <= 1.0


@pytest.mark.parametrize("image,shape", [("photograph", (600, 512)), ("mri", (256, 256)), ("terrain", (344, 403))])
def test_every_sample_image_is_installed_and_loads_offline(image, shape, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    path = data.sample_image_path(image)
    assert path.is_file() and Path(matplotlib.get_data_path()).resolve() in path.resolve().parents
    assert path.name == data.SAMPLE_IMAGES[image]
    monkeypatch.setattr(socket, "socket", refuse)
    data._image.cache_clear()
    img = data.load_grayscale(image)
    assert img.shape == shape and img.min() == 0.0 and img.max() == 1.0


def test_mri_and_terrain_against_a_direct_read():
    import gzip

    with gzip.open(data.sample_image_path("mri")) as f:
        raw = np.frombuffer(f.read(), dtype=np.uint16).reshape(256, 256)
    np.testing.assert_allclose(data.load_grayscale("mri") * raw.max(), raw, atol=1e-9)
    assert np.mean(raw == 0) > 0.4  # the black background of the slice
    z = np.load(data.sample_image_path("terrain"))["elevation"]
    t = data.load_grayscale("terrain")
    np.testing.assert_allclose(z.min() + t * (z.max() - z.min()), z, atol=1e-9)


def test_pools_of_other_images():
    pool = data.patch_pool(3, image="terrain")
    assert pool.image == "terrain" and len(pool) == (344 - 2) * (403 - 2)
    r, c = pool.positions[1234]
    np.testing.assert_allclose(pool.to_intensity(pool.patches[1234]),
                               data.load_grayscale("terrain")[r:r + 3, c:c + 3].ravel(), atol=1e-12)
    np.testing.assert_allclose(np.trace(pool.population.cov), 9.0, rtol=1e-10)
    assert data.patch_pool(3).image == "photograph" and data.patch_pool(3) is not pool
    with pytest.raises(ValueError, match="image"):
        data.patch_pool(3, image="lena")
    with pytest.raises(ValueError, match="size"):
        data.patch_pool(300, image="mri")  # larger than the 256-pixel side


def test_load_grayscale_returns_a_fresh_copy():
    a = data.load_grayscale()
    a[0, 0] = -1.0
    assert data.load_grayscale()[0, 0] >= 0.0


# --------------------------------------------------------------------------- patches
@pytest.mark.parametrize("shape,size", [((5, 7), 3), ((4, 4), 4), ((6, 3), 1), ((3, 8), 2)])
def test_extract_patches_against_an_explicit_double_loop(shape, size):
    img = np.random.default_rng(0).normal(size=shape)
    expected = []
    for i in range(shape[0] - size + 1):
        for j in range(shape[1] - size + 1):
            expected.append([img[i + a, j + b] for a in range(size) for b in range(size)])
    got = data.extract_patches(img, size)
    np.testing.assert_array_equal(got, np.array(expected))
    got[0, 0] = 1e6  # a copy, not a view of the image
    assert img.max() < 1e6


@pytest.mark.parametrize("bad,exc", [(np.zeros((3, 3, 3)), ValueError), ("image", TypeError),
                                     (np.array([[1.0, np.nan]]), ValueError)])
def test_extract_patches_rejects_bad_images(bad, exc):
    with pytest.raises(exc, match="image"):
        data.extract_patches(bad, 1)


@pytest.mark.parametrize("size,exc", [(0, ValueError), (6, ValueError), (2.0, TypeError), (True, TypeError)])
def test_extract_patches_rejects_bad_sizes(size, exc):
    with pytest.raises(exc, match="size"):
        data.extract_patches(np.zeros((5, 8)), size)


# --------------------------------------------------------------------------- standardization
def test_standardize_properties():
    rng = np.random.default_rng(1)
    X = 3.0 + rng.normal(size=(200, 6)) * np.array([0.1, 1, 2, 3, 4, 5])
    Z, mean, scale = data.standardize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.trace(np.cov(Z.T, bias=True)), 6.0, rtol=1e-12)
    np.testing.assert_allclose(mean + scale * Z, X, rtol=1e-12)
    # one global scale: the ratios of pixel variances are unchanged
    np.testing.assert_allclose(Z.var(axis=0) / X.var(axis=0), 1 / scale**2, rtol=1e-12)
    # the scale is sqrt(mean per-pixel variance)
    np.testing.assert_allclose(scale, math.sqrt(np.mean(X.var(axis=0))), rtol=1e-12)


def test_standardize_rejects_constant_and_short_input():
    with pytest.raises(ValueError, match="all be equal"):
        data.standardize(np.ones((5, 3)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        data.standardize(np.ones((1, 3)))


# --------------------------------------------------------------------------- the pool
@pytest.fixture(scope="module")
def pool4():
    return data.patch_pool(4)


def test_pool_is_every_standardized_patch_of_the_photograph(pool4):
    img = data.load_grayscale()
    assert len(pool4) == (600 - 3) * (512 - 3) and pool4.dim == 16
    rng = np.random.default_rng(2)
    for i in rng.choice(len(pool4), 5, replace=False):
        r, c = pool4.positions[i]
        raw = img[r:r + 4, c:c + 4].ravel()
        np.testing.assert_allclose(pool4.to_intensity(pool4.patches[i]), raw, atol=1e-12)
    np.testing.assert_allclose(pool4.patches.mean(axis=0), 0.0, atol=1e-10)
    assert not pool4.patches.flags.writeable
    assert data.patch_pool(4) is pool4  # cached


def test_population_is_the_pool_mean_and_covariance(pool4):
    pop = pool4.population
    assert isinstance(pop, Gaussian) and pop.dim == 16
    np.testing.assert_allclose(pop.mean, 0.0)
    np.testing.assert_allclose(pop.cov, np.cov(pool4.patches.T, bias=True), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.trace(pop.cov), 16.0, rtol=1e-10)
    assert not pop.is_degenerate
    lam = pool4.spectrum
    assert np.all(np.diff(lam) <= 0) and lam[0] > 10 * lam[1]  # the mean-brightness direction dominates


def test_subsampled_pool_is_seeded_and_standardized():
    a = data.patch_pool(3, max_patches=1000, seed=5)
    b = data.patch_pool(3, max_patches=1000, seed=6)
    assert len(a) == 1000
    assert not np.array_equal(a.positions, b.positions)
    np.testing.assert_allclose(np.trace(a.population.cov), 9.0, rtol=1e-10)
    img = data.load_grayscale()
    r, c = a.positions[17]
    np.testing.assert_allclose(a.to_intensity(a.patches[17]), img[r:r + 3, c:c + 3].ravel(), atol=1e-12)


def test_large_pools_need_subsampling():
    with pytest.raises(ValueError, match="max_patches <="):
        data.patch_pool(64)
    small = data.patch_pool(64, max_patches=200, seed=1)
    assert small.patches.shape == (200, 4096)
    r, c = small.positions[5]
    np.testing.assert_allclose(small.to_intensity(small.patches[5]), data.load_grayscale()[r:r + 64, c:c + 64].ravel(),
                               atol=1e-12)


@pytest.mark.parametrize("kwargs,exc,name", [({"size": 0}, ValueError, "size"), ({"size": 601}, ValueError, "size"),
                                             ({"size": 4.0}, TypeError, "size"),
                                             ({"size": 4, "max_patches": 1}, ValueError, "max_patches"),
                                             ({"size": 4, "seed": -1}, ValueError, "seed")])
def test_patch_pool_rejects_bad_arguments(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        data.patch_pool(**kwargs)


def test_sampling_is_deterministic_and_draws_distinct_pool_rows(pool4):
    X1, i1 = data.sample_patches(pool4, 50, np.random.default_rng(3), return_indices=True)
    X2, i2 = data.sample_patches(pool4, 50, np.random.default_rng(3), return_indices=True)
    np.testing.assert_array_equal(X1, X2)
    assert len(set(i1.tolist())) == 50
    np.testing.assert_array_equal(X1, pool4.patches[i1])
    X3 = data.sample_patches(pool4, 50, np.random.default_rng(4))
    assert not np.array_equal(X1, X3)
    X1[0, 0] = 1e6  # a writable copy
    assert pool4.patches.max() < 1e6


def test_held_out_patches_share_no_pixel_with_training_patches(pool4):
    rng = np.random.default_rng(5)
    _, tr = data.sample_patches(pool4, 300, rng, return_indices=True)
    R, ho = data.held_out_patches(pool4, tr, 2000, rng, return_indices=True)
    np.testing.assert_array_equal(R, pool4.patches[ho])
    assert len(set(ho.tolist())) == 2000
    # brute force: two p x p patches share a pixel iff both offsets are < p
    pt, ph = pool4.positions[tr], pool4.positions[ho]
    gap = np.abs(ph[:, None, :] - pt[None, :, :])
    assert not np.any((gap[..., 0] < 4) & (gap[..., 1] < 4))
    # and positions just outside the excluded boxes are still allowed
    allowed_near = np.any(np.min(np.max(gap, axis=2), axis=1) == 4)
    assert allowed_near
    R2 = data.held_out_patches(pool4, tr, 2000, np.random.default_rng(6))
    R3 = data.held_out_patches(pool4, tr, 2000, np.random.default_rng(6))
    np.testing.assert_array_equal(R2, R3)


def test_training_and_held_out_are_seeded_and_disjoint(pool4):
    X, R = data.training_and_held_out(pool4, 40, 100, seed=3)
    X2, R2 = data.training_and_held_out(pool4, 40, 100, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(R, R2)
    rng = np.random.default_rng([3, 40])
    np.testing.assert_array_equal(X, data.sample_patches(pool4, 40, rng))
    assert R.shape == (100, 16) and data.nearest_neighbor_distances(R, X).min() > 0
    assert data.training_and_held_out(pool4, 40)[1].shape == (0, 16)
    with pytest.raises(ValueError, match="n_held_out"):
        data.training_and_held_out(pool4, 40, -1)


def test_held_out_without_exclusions_is_plain_sampling(pool4):
    R = data.held_out_patches(pool4, np.array([], dtype=int), 10, np.random.default_rng(0))
    assert R.shape == (10, 16)


def test_sampling_rejects_bad_input(pool4):
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="pool"):
        data.sample_patches(np.zeros((5, 4)), 2, rng)
    with pytest.raises(ValueError, match="n must be at most"):
        data.sample_patches(pool4, len(pool4) + 1, rng)
    with pytest.raises(TypeError, match="rng"):
        data.sample_patches(pool4, 2, 0)
    with pytest.raises(ValueError, match="n must be an integer"):
        data.sample_patches(pool4, 0, rng)
    with pytest.raises(TypeError, match="exclude"):
        data.held_out_patches(pool4, np.array([0.5]), 2, rng)
    with pytest.raises(ValueError, match="exclude"):
        data.held_out_patches(pool4, np.array([len(pool4)]), 2, rng)
    with pytest.raises(ValueError, match="overlap no excluded"):
        data.held_out_patches(pool4, np.arange(0, len(pool4), 3), 10**6, rng)


# --------------------------------------------------------------------------- power law
@pytest.mark.parametrize("k", [0.0, 0.7, 1.9, 3.2])
def test_power_law_fit_recovers_a_known_exponent(k):
    nu = np.arange(1, 101, dtype=float)
    lam = 4.2 * nu**-k
    lam_shuffled = np.random.default_rng(0).permutation(lam)  # order does not matter
    k_hat, amp = data.fit_power_law(lam_shuffled, nu_min=1)
    np.testing.assert_allclose([k_hat, amp], [k, 4.2], rtol=1e-10, atol=1e-10)


def test_power_law_fit_uses_only_the_stated_range():
    nu = np.arange(1, 65, dtype=float)
    lam = nu**-1.5
    lam[0] = 1e3  # an outlier at nu = 1 (like the mean brightness of patches)
    lam[40:] *= 1e-3  # and a cut-off beyond nu = 40: excluded by nu_max = 40
    lam = np.sort(lam)[::-1]
    k_hat, _ = data.fit_power_law(lam, nu_min=2, nu_max=40)
    np.testing.assert_allclose(k_hat, 1.5, rtol=1e-10)
    # with noise, least squares in log-log against numpy's own line fit on the same points
    noisy = nu**-1.5 * np.exp(0.1 * np.random.default_rng(1).normal(size=64))
    k_n, a_n = data.fit_power_law(noisy, nu_min=3, nu_max=50)
    srt = np.sort(noisy)[::-1][2:50]
    A = np.stack([np.ones(48), -np.log(np.arange(3, 51))], axis=1)
    coef = np.linalg.lstsq(A, np.log(srt), rcond=None)[0]
    np.testing.assert_allclose([k_n, math.log(a_n)], [coef[1], coef[0]], rtol=1e-10)


@pytest.mark.parametrize("args,exc,name", [((np.array([1.0, 0.0, 2.0]),), ValueError, "eigvals"),
                                           ((np.ones((2, 2)),), ValueError, "eigvals"),
                                           ((np.ones(10), 5, 5), ValueError, "nu_min"),
                                           ((np.ones(10), 1, 11), ValueError, "nu_max"),
                                           ((np.ones(10), 1.0), TypeError, "nu_min")])
def test_power_law_fit_rejects_bad_input(args, exc, name):
    with pytest.raises(exc, match=name):
        data.fit_power_law(*args)


# --------------------------------------------------------------------------- KL in the model's eigenbasis
def _random_gaussian(rng, d, spread=1.0):
    A = rng.normal(size=(d, d))
    return Gaussian(rng.normal(size=d), A @ A.T * spread + 0.1 * np.eye(d))


@pytest.mark.parametrize("d", [1, 3, 7])
def test_kl_to_population_equals_the_library_kl(d):
    rng = np.random.default_rng(d)
    for _ in range(5):
        p, q = _random_gaussian(rng, d), _random_gaussian(rng, d, 2.0)
        np.testing.assert_allclose(data.kl_to_population(p, q), kl_divergence(p, q), rtol=1e-9)
        # and the dense textbook formula
        qi = np.linalg.inv(q.cov)
        dm = q.mean - p.mean
        dense = 0.5 * (np.trace(qi @ p.cov) - d + dm @ qi @ dm + np.linalg.slogdet(q.cov)[1]
                       - np.linalg.slogdet(p.cov)[1])
        np.testing.assert_allclose(data.kl_to_population(p, q), dense, rtol=1e-8)


def test_kl_to_population_keeps_tiny_but_exact_eigenvalues():
    """A rotated spectrum spanning 17 decades against N(0, I): KL = ½ Σ f(g) exactly."""
    rng = np.random.default_rng(3)
    V = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    g = np.array([1e-17, 1e-9, 0.5, 1.0, 2.0, 3.0])
    p = Gaussian.from_eigh(np.zeros(6), g, V)
    q = Gaussian(np.zeros(6), np.eye(6))
    exact = 0.5 * np.sum(g - 1 - np.log(g))
    np.testing.assert_allclose(data.kl_to_population(p, q), exact, rtol=1e-12)
    assert kl_divergence(p, q) == pytest.approx(exact, rel=1e-12)  # the library keeps them too
    # exact zeros are still infinite
    p0 = Gaussian.from_eigh(np.zeros(6), np.array([0.0, 1, 1, 1, 1, 1]), V)
    assert data.kl_to_population(p0, q) == math.inf


def test_kl_to_population_rejects_bad_input():
    q = Gaussian(np.zeros(2), np.eye(2))
    with pytest.raises(TypeError, match="p must"):
        data.kl_to_population(np.eye(2), q)
    with pytest.raises(ValueError, match="same dimension"):
        data.kl_to_population(Gaussian(np.zeros(3), np.eye(3)), q)
    with pytest.raises(ValueError, match="positive definite"):
        data.kl_to_population(q, Gaussian(np.zeros(2), np.diag([1.0, 0.0])))


# --------------------------------------------------------------------------- the d/N law beyond leading order
@pytest.mark.parametrize("N", [3, 5, 40])
def test_refit_kl_is_the_kl_of_the_refitted_gaussian(N):
    rng = np.random.default_rng(10)
    A = rng.normal(size=(4, 4))
    pop = Gaussian(rng.normal(size=4), A @ A.T + 0.5 * np.eye(4))
    X = rng.standard_t(5, size=(N, 4)) @ A.T
    ts, st = data.refit_kl(X, pop)
    if N <= 4:
        assert ts == st == math.inf
        return
    fit = Gaussian(X.mean(axis=0), np.cov(X.T, bias=True))
    np.testing.assert_allclose([ts, st], [kl_divergence(pop, fit) / 4, kl_divergence(fit, pop) / 4], rtol=1e-9)


def test_refit_kl_rejects_bad_input():
    pop = Gaussian(np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="columns"):
        data.refit_kl(np.zeros((5, 2)), pop)
    with pytest.raises(ValueError, match="positive definite"):
        data.refit_kl(np.zeros((5, 3)), Gaussian(np.zeros(3), np.diag([1.0, 1.0, 0.0])))
    with pytest.raises(TypeError, match="population"):
        data.refit_kl(np.zeros((5, 3)), np.eye(3))


def test_contrast_moments_definition_and_gaussian_value():
    rng = np.random.default_rng(11)
    W = rng.standard_normal((40_000, 10))
    e = data.contrast_moments(W, (1, 2, 3))
    np.testing.assert_allclose(e, 1.0, rtol=0.03)  # Gaussian: every moment 1
    r = np.sum(W**2, axis=1)  # the definition, written out
    np.testing.assert_allclose(e[1], np.mean(r**2) / (10 * 12), rtol=1e-12)
    np.testing.assert_allclose(e[2], np.mean(r**3) / (10 * 12 * 14), rtol=1e-12)
    np.testing.assert_allclose(data.contrast_moments(sq_norms=r, dim=10, orders=(1, 2, 3)), e, rtol=1e-12)
    with pytest.raises(ValueError, match="exactly one"):
        data.contrast_moments(W, sq_norms=r)
    with pytest.raises(ValueError, match="dim"):
        data.contrast_moments(sq_norms=r)
    with pytest.raises(ValueError, match="non-negative"):
        data.contrast_moments(sq_norms=-r, dim=10)


def test_pool_whitened_norms_against_dense_whitening(pool4):
    pop = pool4.population
    W = np.linalg.solve(np.linalg.cholesky(pop.cov), pool4.patches[::50].T).T  # an independent whitening
    np.testing.assert_allclose(pool4.whitened_sq_norms[::50], np.sum(W**2, axis=1), rtol=1e-8)
    np.testing.assert_allclose(pool4.whitened_sq_norms.mean(), 16.0, rtol=1e-8)  # E|w|² = d exactly on the pool
    assert not pool4.whitened_sq_norms.flags.writeable


def test_contrast_moments_recover_a_known_scale_mixture():
    rng = np.random.default_rng(12)
    vals, probs = np.array([0.25, 2.5]), np.array([2 / 3, 1 / 3])
    contrast = rng.choice(vals, size=60_000, p=probs)
    W = np.sqrt(contrast)[:, None] * rng.standard_normal((60_000, 8))
    np.testing.assert_allclose(data.contrast_moments(W, (2, 3)), [probs @ vals**2, probs @ vals**3], rtol=0.05)


def _mp_limits(g):
    """Marchenko–Pastur limits of KL/d for Gaussian data, both directions (independent closed forms)."""
    log_mean = -1.0 - (1.0 / g - 1.0) * math.log1p(-g)  # ∫ ln λ dMP_γ
    return 0.5 * (1.0 / (1.0 - g) - 1.0 + log_mean), -0.5 * log_mean  # (ts, st)


def test_refit_coefficients_are_the_marchenko_pastur_expansion_for_gaussian_data():
    co = data.refit_kl_coefficients(1.0, 1.0, 1.0)
    np.testing.assert_allclose(co["ts"], [1 / 4, 5 / 12, 11 / 24], rtol=1e-12)
    np.testing.assert_allclose(co["st"], [1 / 4, 1 / 12, 1 / 24], rtol=1e-12)
    for g in (1e-2, 2e-2):  # the truncation error is O(γ⁴): the remainder / γ⁴ stays bounded
        for key, exact in zip(("ts", "st"), _mp_limits(g)):
            c, c2, c3 = co[key]
            assert abs(exact - (c * g + c2 * g**2 + c3 * g**3)) < 2 * g**4


def test_refit_coefficients_against_monte_carlo_for_a_scale_mixture():
    # a two-point contrast: e2 = 2.125, e3 = 5.22; Gaussian coefficients would miss by several standard errors
    rng = np.random.default_rng(13)
    vals, probs = np.array([0.25, 2.5]), np.array([2 / 3, 1 / 3])
    e2, e3, e4 = (probs @ vals**n for n in (2, 3, 4))
    co = data.refit_kl_coefficients(e2, e3, e4)
    d, N = 200, 1600
    g = d / N
    runs = []
    for _ in range(10):
        W = np.sqrt(rng.choice(vals, size=N, p=probs))[:, None] * rng.standard_normal((N, d))
        fit = Gaussian(W.mean(axis=0), np.cov(W.T, bias=True))
        runs.append([kl_divergence(Gaussian(np.zeros(d), np.eye(d)), fit) / d,
                     kl_divergence(fit, Gaussian(np.zeros(d), np.eye(d))) / d])
    runs = np.array(runs)
    mc, se = runs.mean(axis=0), runs.std(axis=0, ddof=1) / math.sqrt(len(runs))
    c_d = (e2 * d * (d + 2) - d) / (4 * d * d) + 1 / (2 * d)  # the finite-d leading coefficient
    for j, key in enumerate(("ts", "st")):
        _, c2, c3 = co[key]
        pred = c_d * g + c2 * g**2 + c3 * g**3
        assert abs(mc[j] - pred) < 3 * se[j] + 0.01 * pred
        gauss = c_d * g + (5 / 12 if key == "ts" else 1 / 12) * g**2
        assert abs(mc[j] - gauss) > 3 * se[j] + 0.01 * pred  # the contrast moments matter


@pytest.mark.parametrize("args,name", [((0.9, 1.0), "e2"), ((2.0, 3.0), "e3"), ((2.0, 5.0, 10.0), "e4"),
                                       ((-1.0, 1.0), "e2"), ((2.0, float("nan")), "e3")])
def test_refit_coefficients_reject_impossible_moments(args, name):
    with pytest.raises(ValueError, match=name):
        data.refit_kl_coefficients(*args)


# --------------------------------------------------------------------------- statistics
def test_nearest_neighbor_distances_against_brute_force():
    rng = np.random.default_rng(7)
    P, R = 50 + rng.normal(size=(30, 5)), 50 + rng.normal(size=(40, 5))
    brute = [min(np.linalg.norm(p - r) for r in R) for p in P]
    np.testing.assert_allclose(data.nearest_neighbor_distances(P, R), brute, rtol=1e-9)
    np.testing.assert_allclose(data.nearest_neighbor_distances(R[:7], R), 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="same dimension"):
        data.nearest_neighbor_distances(P, R[:, :3])


def test_two_nearest_neighbors_against_brute_force():
    rng = np.random.default_rng(8)
    P, R = rng.normal(size=(25, 4)), rng.normal(size=(30, 4))
    two = data.nearest_neighbor_distances(P, R, k=2)
    brute = np.sort(np.linalg.norm(P[:, None, :] - R[None, :, :], axis=2), axis=1)[:, :2]
    np.testing.assert_allclose(two, brute, rtol=1e-9)
    np.testing.assert_allclose(two[:, 0], data.nearest_neighbor_distances(P, R), rtol=1e-12)
    with pytest.raises(ValueError, match="k must"):
        data.nearest_neighbor_distances(P, R[:1], k=2)
    with pytest.raises(ValueError, match="k"):
        data.nearest_neighbor_distances(P, R, k=0)


def test_horizontal_differences_and_kurtosis():
    X = np.arange(2 * 9, dtype=float).reshape(2, 9) ** 2
    D = data.horizontal_differences(X, 3)
    sq = X.reshape(2, 3, 3)
    brute = [[sq[n, a, b + 1] - sq[n, a, b] for a in range(3) for b in range(2)] for n in range(2)]
    np.testing.assert_array_equal(D, brute)
    rng = np.random.default_rng(8)
    g = rng.normal(size=400_000)
    assert abs(data.excess_kurtosis(g)) < 0.05  # Gaussian: 0 (sd ~ sqrt(24/n) = 0.008)
    np.testing.assert_allclose(data.excess_kurtosis(rng.laplace(size=400_000)), 3.0, atol=0.15)
    x = np.array([0.0, 0.0, 1.0, 5.0])
    c = x - x.mean()
    np.testing.assert_allclose(data.excess_kurtosis(x), np.mean(c**4) / np.mean(c**2) ** 2 - 3)
    # a Gaussian model of patches has Gaussian differences
    G = Gaussian(np.zeros(9), np.eye(9) + 0.5)
    assert abs(data.difference_kurtosis(G.sample(100_000, rng), 3)) < 0.05
    with pytest.raises(ValueError, match="all be equal"):
        data.excess_kurtosis(np.ones(5))
    with pytest.raises(ValueError, match="size"):
        data.horizontal_differences(np.ones((2, 8)), 3)


def test_real_patches_are_heavy_tailed(pool4):
    assert data.difference_kurtosis(pool4.patches[::20], 4) > 5.0


# --------------------------------------------------------------------------- the exact empirical denoiser
def _brute_posterior_mean(x, X, ab):
    """Bayes' rule with explicit Gaussian likelihoods N(x; √ᾱ x_i, (1 − ᾱ) I), one point at a time."""
    like = np.array([multivariate_normal(math.sqrt(ab) * xi, (1 - ab) * np.eye(len(xi))).pdf(x) for xi in X])
    w = like / like.sum()
    return w, w @ X


@pytest.mark.parametrize("ab", [0.3, 0.9, 0.995])
def test_empirical_denoiser_is_the_posterior_mean(ab):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(6, 3))
    x = math.sqrt(ab) * X[2] + math.sqrt(1 - ab) * rng.normal(size=3)
    w_b, m_b = _brute_posterior_mean(x, X, ab)
    np.testing.assert_allclose(empirical.posterior_weights(x, X, ab), w_b, rtol=1e-9)
    np.testing.assert_allclose(empirical.empirical_denoiser(x, X, ab), m_b, rtol=1e-9)
    # batched input gives the same rows
    xs = np.stack([x, x + 0.1])
    np.testing.assert_allclose(empirical.empirical_denoiser(xs, X, ab)[0], m_b, rtol=1e-9)


def test_noise_prediction_is_minus_scaled_score_of_the_mixture():
    """Tweedie: ε̂(x) = −√(1−ᾱ) ∇ ln p_t(x), the gradient taken by central differences."""
    rng = np.random.default_rng(10)
    X = rng.normal(size=(5, 4))
    ab = 0.6
    x = rng.normal(size=4)

    def log_pt(y):
        sq = np.sum((y - math.sqrt(ab) * X) ** 2, axis=1)
        return float(logsumexp(-0.5 * sq / (1 - ab)))

    h = 1e-5
    grad = np.array([(log_pt(x + h * e) - log_pt(x - h * e)) / (2 * h) for e in np.eye(4)])
    np.testing.assert_allclose(empirical.empirical_noise_prediction(x, X, ab), -math.sqrt(1 - ab) * grad,
                               rtol=1e-6, atol=1e-8)


def test_denoiser_limits():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(8, 3)) * 3
    # almost pure noise: every point equally likely (weights differ at O(√ᾱ) = 1e-10),
    # the denoiser returns the training mean
    np.testing.assert_allclose(empirical.empirical_denoiser(rng.normal(size=3), X, 1e-20), X.mean(axis=0),
                               atol=1e-8)
    # almost no noise: the nearest training point, exactly (no overflow in the softmax)
    w = empirical.posterior_weights(X[3] + 1e-3, X, 1 - 1e-9, one_minus_alpha_bar=1e-9)
    np.testing.assert_array_equal(w, np.eye(8)[3])


def test_sampler_with_one_training_point_is_the_linear_ddpm():
    """With one training point the exact denoiser is affine, so the sampler is the linear DDPM with
    empirical covariance 0: its law N(x_1, g(0) I) with g(0) = β_1 comes from lindiff.ddpm."""
    x1 = np.array([2.0, -1.0, 0.5])
    S = empirical.empirical_ddpm_samples(x1[None, :], 10_000, np.random.default_rng(12))
    lin = ddpm.sampling_distribution(np.stack([x1, x1]))  # two copies: C = 0, mean x_1
    np.testing.assert_allclose(lin.mean, x1, atol=1e-12)
    np.testing.assert_allclose(np.diag(lin.cov), ddpm.linear_schedule()[0][0], rtol=1e-9)
    np.testing.assert_allclose(S.mean(axis=0), lin.mean, atol=4 * math.sqrt(lin.cov[0, 0] / 10_000))
    np.testing.assert_allclose(np.cov(S.T), lin.cov, rtol=0.06, atol=5e-6)  # sd: sqrt(2/n), β_1/sqrt(n)


def test_sampler_against_an_explicit_loop_over_steps_and_samples():
    """The vectorized chain equals the textbook update u ← (u − β/√(1−ᾱ) ε̂(u))/√(1−β) + σ z, one sample at a time."""
    X = np.random.default_rng(13).normal(size=(4, 2))
    T = 30
    got = empirical.empirical_ddpm_samples(X, 3, np.random.default_rng(14), T=T, beta_min=1e-3, beta_max=0.2)
    rng = np.random.default_rng(14)
    betas, abs_ = ddpm.linear_schedule(T, 1e-3, 0.2)
    u = rng.standard_normal((3, 2))
    for t in range(T - 1, -1, -1):
        z = rng.standard_normal((3, 2))
        for n in range(3):
            eps = empirical.empirical_noise_prediction(u[n], X, abs_[t], 1 - abs_[t] if t else betas[0])
            u[n] = (u[n] - betas[t] / math.sqrt(1 - abs_[t] if t else betas[0]) * eps) / math.sqrt(1 - betas[t]) \
                + math.sqrt(betas[t]) * z[n]
    np.testing.assert_allclose(got, u, rtol=1e-9, atol=1e-12)


def test_exact_sampler_copies_training_points():
    rng = np.random.default_rng(15)
    X = rng.normal(size=(20, 16))
    S = empirical.empirical_ddpm_samples(X, 200, np.random.default_rng(16))
    dist = data.nearest_neighbor_distances(S, X)
    beta1 = ddpm.linear_schedule()[0][0]
    # last step: posterior mean at t = 1 (one-hot) + σ_1 z, so |sample − x_i|² ~ β_1 χ²_16
    np.testing.assert_allclose(np.mean(dist**2), 16 * beta1, rtol=0.1)
    # and several training points are reached (no collapse onto one)
    assert len(set(np.argmin(((S[:, None, :] - X[None]) ** 2).sum(-1), axis=1).tolist())) >= 10


def test_mixture_overlap_against_brute_force_and_single_gaussian():
    rng = np.random.default_rng(17)
    C, P = rng.normal(size=(3, 2)), rng.normal(size=(4, 2))
    var, eps = 0.3, 0.7
    brute = sum(multivariate_normal(p, (var + eps**2) * np.eye(2)).pdf(c) for c in C for p in P) / 12
    np.testing.assert_allclose(empirical.mixture_log_overlap(C, var, P, eps), math.log(brute), rtol=1e-10)
    g = Gaussian(C[0], var * np.eye(2))
    np.testing.assert_allclose(empirical.mixture_log_overlap(C[:1], var, P, eps), mem.log_overlap(g, P, eps),
                               rtol=1e-10)
    # far-away points: finite log, no underflow to -inf
    assert np.isfinite(empirical.mixture_log_overlap(C, 1e-4, P + 1e3, 1e-2))


def test_copying_statistic_is_the_memorization_statistic_of_the_mixture():
    rng = np.random.default_rng(18)
    X, R = rng.normal(size=(1, 3)), rng.normal(size=(50, 3))
    # one training point: the mixture is one Gaussian, and the library statistic applies
    g = Gaussian(X[0], 0.01 * np.eye(3))
    np.testing.assert_allclose(empirical.copying_statistic(X, R, 1.0, 0.01),
                               mem.memorization_statistic(g, X, R, 1.0), rtol=1e-10)
    # copying in high dimension is detected: strongly positive
    X, R = rng.normal(size=(30, 20)), rng.normal(size=(500, 20))
    assert empirical.copying_statistic(X, R, 1.0, 1e-4) > 5


# --------------------------------------------------------------------------- the smoothed empirical denoiser
def _smoothed_brute(x, X, ab, zeta):
    """Posterior mean under p_ζ by Gaussian conditioning, component by component, with dense matrices."""
    N, d = X.shape
    xbar = X.mean(axis=0)
    S = (X - xbar).T @ (X - xbar) / N
    C = ab * zeta * S + (1 - ab) * np.eye(d)  # covariance of x_t given the component
    out = []
    for xi in np.atleast_2d(x):
        logs, means = [], []
        for row in X:
            c = xbar + math.sqrt(1 - zeta) * (row - xbar)
            logs.append(multivariate_normal(math.sqrt(ab) * c, C).logpdf(xi))
            # Cov(x_0, x_t) = √ᾱ ζ S within the component
            means.append(c + math.sqrt(ab) * zeta * S @ np.linalg.solve(C, xi - math.sqrt(ab) * c))
        w = np.exp(np.array(logs) - logsumexp(logs))
        out.append(w @ np.array(means))
    return np.array(out)


@pytest.mark.parametrize("N,zeta", [(7, 0.3), (7, 0.8), (4, 0.5)])  # N = 4 < d: S is singular
def test_smoothed_denoiser_against_dense_gaussian_conditioning(N, zeta):
    rng = np.random.default_rng(21)
    X = rng.normal(size=(N, 5)) * np.array([3.0, 1.0, 0.5, 0.2, 0.1]) + 1.0
    x = rng.normal(size=(6, 5))
    np.testing.assert_allclose(empirical.smoothed_denoiser(x, X, 0.4, zeta), _smoothed_brute(x, X, 0.4, zeta),
                               rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(empirical.smoothed_denoiser(x[0], X, 0.4, zeta), _smoothed_brute(x[:1], X, 0.4, zeta)[0],
                               rtol=1e-8, atol=1e-10)


def test_smoothed_denoiser_limits_are_the_copier_and_the_empirical_gaussian():
    rng = np.random.default_rng(22)
    X, x, ab = rng.normal(size=(9, 4)) * np.array([2.0, 1.0, 0.5, 0.3]), rng.normal(size=(5, 4)), 0.6
    np.testing.assert_allclose(empirical.smoothed_denoiser(x, X, ab, 0.0), empirical.empirical_denoiser(x, X, ab),
                               rtol=1e-10, atol=1e-12)
    xbar, S = X.mean(axis=0), np.cov(X.T, bias=True)
    linear = xbar + (x - math.sqrt(ab) * xbar) @ (math.sqrt(ab) * np.linalg.solve(ab * S + (1 - ab) * np.eye(4), S))
    np.testing.assert_allclose(empirical.smoothed_denoiser(x, X, ab, 1.0), linear, rtol=1e-10, atol=1e-12)


def test_smoothed_sampler_interpolates_between_the_exact_sampler_and_the_linear_ddpm():
    rng = np.random.default_rng(23)
    X = rng.normal(size=(12, 4)) * np.array([2.0, 1.0, 0.5, 0.3]) + 0.5
    # ζ = 0: the exact empirical sampler, draw for draw
    np.testing.assert_allclose(empirical.smoothed_ddpm_samples(X, 30, np.random.default_rng(4), 0.0, T=50),
                               empirical.empirical_ddpm_samples(X, 30, np.random.default_rng(4), T=50), atol=1e-10)
    # ζ = 1: the converged linear DDPM; its sample law is a known Gaussian
    n = 40_000
    Y = empirical.smoothed_ddpm_samples(X, n, np.random.default_rng(5), 1.0, T=50)
    G = ddpm.sampling_distribution(X, T=50)
    sd = np.sqrt(np.diag(G.cov))
    assert np.all(np.abs(Y.mean(axis=0) - G.mean) < 5 * sd / math.sqrt(n))
    np.testing.assert_allclose(np.cov(Y.T), G.cov, atol=0.03 * np.max(np.diag(G.cov)))
    # in between, the samples leave the training points: the copier's nearest distance is the last-step noise
    beta_1 = ddpm.linear_schedule(50)[0][0]
    near = {z: np.median(data.nearest_neighbor_distances(
        empirical.smoothed_ddpm_samples(X, 300, np.random.default_rng(6), z, T=50), X)) for z in (0.0, 0.2, 1.0)}
    assert near[0.0] < 3 * math.sqrt(beta_1 * 4) < near[0.2] < near[1.0]


@pytest.mark.parametrize("call,exc,name", [
    (lambda: empirical.posterior_weights(np.zeros(3), np.zeros((2, 3)), 1.0), ValueError, "alpha_bar"),
    (lambda: empirical.posterior_weights(np.zeros(3), np.zeros((2, 3)), "a"), TypeError, "alpha_bar"),
    (lambda: empirical.posterior_weights(np.zeros(2), np.zeros((2, 3)), 0.5), ValueError, "x must"),
    (lambda: empirical.empirical_denoiser(np.zeros(3), np.zeros((0, 3)), 0.5), ValueError, "train"),
    (lambda: empirical.posterior_weights(np.zeros(3), np.zeros((2, 3)), 0.5, 0.0), ValueError, "one_minus"),
    (lambda: empirical.empirical_ddpm_samples(np.zeros((2, 3)), 0, np.random.default_rng(0)), ValueError,
     "n_samples"),
    (lambda: empirical.empirical_ddpm_samples(np.zeros((2, 3)), 2, 0), TypeError, "rng"),
    (lambda: empirical.empirical_ddpm_samples(np.zeros((2, 3)), 2, np.random.default_rng(0), T=0), ValueError, "T"),
    (lambda: empirical.mixture_log_overlap(np.zeros((2, 3)), 0.0, np.zeros((2, 3)), 1.0), ValueError, "variance"),
    (lambda: empirical.mixture_log_overlap(np.zeros((2, 3)), 1.0, np.zeros((2, 2)), 1.0), ValueError, "points"),
    (lambda: empirical.copying_statistic(np.zeros((2, 3)), np.zeros((2, 3)), -1.0, 1.0), ValueError, "std"),
    (lambda: empirical.smoothed_denoiser(np.zeros(3), np.eye(3), 0.5, 1.5), ValueError, "smoothing"),
    (lambda: empirical.smoothed_denoiser(np.zeros(3), np.eye(3), 0.5, -0.1), ValueError, "smoothing"),
    (lambda: empirical.smoothed_denoiser(np.zeros(3), np.eye(3), 1.5, 0.5), ValueError, "alpha_bar"),
    (lambda: empirical.smoothed_ddpm_samples(np.eye(3), 2, np.random.default_rng(0), "a"), TypeError, "smoothing"),
])
def test_empirical_rejects_bad_input(call, exc, name):
    with pytest.raises(exc, match=name):
        call()


# --------------------------------------------------------------------------- figures
def test_explorer_draws_every_model_and_rejects_bad_input():
    from matplotlib.figure import Figure

    from lindiff.plotting import data as figs

    for model in figs.MODELS:
        fig = figs.patches_explorer(n_train=24, size=3, model=model)
        assert isinstance(fig, Figure) and len(fig.axes) == 2
    # N <= d: the one-step KL is infinite and says so; N > d: finite
    assert "∞" in figs.patches_explorer(n_train=8, size=3, model="one-step").axes[1].get_title()
    assert "∞" not in figs.patches_explorer(n_train=24, size=3, model="one-step").axes[1].get_title()
    with pytest.raises(ValueError, match="model"):
        figs.patches_explorer(model="nonlinear")
    with pytest.raises(ValueError, match="n_train"):
        figs.patches_explorer(n_train=1, size=3)


def test_mosaic_places_each_patch_and_clips_intensity():
    from lindiff.plotting.data import _mosaic

    patches = np.arange(3 * 4, dtype=float).reshape(3, 4) / 10 - 0.2
    m = _mosaic(patches, 2, ncols=2, pad=1)
    assert m.shape == (2 * 3 + 1, 2 * 3 + 1)
    np.testing.assert_array_equal(m[1:3, 1:3], np.clip(patches[0], 0, 1).reshape(2, 2))
    np.testing.assert_array_equal(m[1:3, 4:6], np.clip(patches[1], 0, 1).reshape(2, 2))
    np.testing.assert_array_equal(m[4:6, 1:3], np.clip(patches[2], 0, 1).reshape(2, 2))
    assert m[0].min() == 1.0 and m[4:6, 4:6].min() == 1.0  # separators and the empty slot are white
