"""lindiff.author_script against independent computations: dense linear algebra, explicit
points, float32 arithmetic done by numpy itself, and the exact kernel integrals of
lindiff.memorization."""

import math

import numpy as np
import pytest
import scipy.linalg
from scipy import stats

from lindiff import author_script as A
from lindiff import memorization as M
from lindiff import onestep
from lindiff.gaussian import Gaussian, hellinger2

U32 = 2.0**-24
T, ELL = 2.0, math.exp(-4.0)


def fitted(n, d=100, repetition=0, **kw):
    """Training set, float32 fit and the script's Gaussian of one repetition."""
    X, z = A.draw_repetition(d, n, repetition)
    Y = A.noisy_inputs(X, T, ELL, z)
    W, b, rank = A.least_squares_fit(Y, X)
    return X, z, W, b, rank, A.generated_gaussian(X, W, b, T, ELL, **kw)


# --------------------------------------------------------------------------- settings
def test_settings_are_the_defaults_of_run_variants():
    s = A.SCRIPT_SETTINGS
    assert (s["d"], s["n_values"], s["reference_size"], s["repetitions"]) == (100, (25, 50, 75, 100), 10_000, 300)
    assert s["noise_scale"] == pytest.approx(math.exp(-2 * s["T"]))
    assert A.DETERMINANT_CUTOFF == pytest.approx(1.3887943864964021e-11)
    assert len(A.SCRIPT_COMMIT) == 40 and int(A.SCRIPT_COMMIT, 16) >= 0
    assert A.INGREDIENT_NAMES[0] == "float32_self_term" and len(A.INGREDIENT_NAMES) == 6


def test_ingredients_switch_one_at_a_time_and_reject_bad_input():
    ing = A.Ingredients().without("transposed_covariance")
    assert not ing.transposed_covariance and all(getattr(ing, n) for n in A.INGREDIENT_NAMES if n != "transposed_covariance")
    with pytest.raises(ValueError, match="name"):
        A.Ingredients().without("float64")
    with pytest.raises(TypeError, match="float32_fit"):
        A.Ingredients(float32_fit=1)


# --------------------------------------------------------------------------- self term
def test_exact_self_term_is_the_diagonal_of_the_self_overlap_times_the_scripts_constant():
    # in exact arithmetic the script's term is (2π)^{(d−1)/2} κ, κ = (4πσ²)^{−d/2} (eq-mem-self-overlap)
    for d, std in ((100, 1.0), (7, 0.6), (30, 2.0)):
        kappa = (4 * math.pi * std**2) ** (-d / 2)
        expected = (2 * math.pi) ** ((d - 1) / 2) * kappa
        for n in (2, 25, 10_000):
            assert A.self_term(n, d, std, float32=False) == pytest.approx(expected, rel=1e-12)
            # the expression as written, n/(√(2π)(2ς²)^{d/2} n²) with ς = σ n^{−1/d}, in double precision
            eps = std * n ** (-1 / d)
            assert n / (math.sqrt(2 * math.pi) * (2 * eps**2) ** (d / 2) * n**2) == pytest.approx(expected, rel=1e-12)


def test_float32_self_term_is_the_float32_bandwidth_raised_to_the_power_d():
    d = 100
    for n in (25, 50, 75, 100, 999, 10_000):
        value = A.self_term(n, d)
        assert value == float(np.float32(value))             # a float32 number
        exact = A.self_term(n, d, float32=False)
        # the rounding of ς, amplified d times, plus a handful of single roundings (π, 2ς², power, n², 1/x, ×n)
        eps = n ** (-1 / d)
        eps32 = float(np.float32(eps))
        predicted = (eps / eps32) ** d - 1
        assert abs(value / exact - 1 - predicted) <= (d / 2 + 8) * U32
        assert abs(A.self_term_rounding(n, d)) <= (3 * d / 2 + 8) * U32
    # the four training sizes and the reference size all round differently: the terms do not cancel
    r = [A.self_term(n, d) for n in (25, 50, 75, 100, 10_000)]
    assert len(set(r)) == 5


def test_float32_self_term_matches_numpy_float32_array_arithmetic():
    # the same expression evaluated with numpy float32 arrays (a different code path); numpy's float32
    # power is not always correctly rounded, so agreement is to one rounding of the power, not bit for bit
    d = 100
    for n in (25, 50, 75, 100, 10_000):
        eps = np.array([1.0], dtype=np.float32) * np.float32((1.0 / n) ** (1.0 / d))
        root = np.sqrt(np.float32(2.0) * np.float32(math.pi))
        value = (np.float32(1.0) / ((root * np.power(np.float32(2.0) * eps * eps, np.float32(d / 2))) * np.float32(n * n))
                 * np.float32(n))
        assert value.dtype == np.float32
        assert A.self_term(n, d) == pytest.approx(float(value[0]), rel=3 * U32)


def test_vectorized_rounding_equals_the_scalar_one_and_overflow_gives_zero():
    ns = np.arange(2, 2001)
    vec = A.self_term_rounding(ns, 100)
    assert vec.shape == ns.shape
    np.testing.assert_array_equal(vec, [A.self_term_rounding(int(n), 100) for n in ns])
    # (2ς²)^{d/2} beyond the float32 range: the script's self term is 0, in the script as here
    assert A.self_term(10, 300) == 0.0 and A.self_term_rounding(10, 300) == -1.0
    assert A.self_term(10, 200) > 0


def test_memorization_keeps_its_name_for_the_rounding():
    for n in (25, 10_000):
        assert M.script_self_term_rounding(n, 100) == A.self_term_rounding(n, 100)


def test_pair_terms_of_distinct_points_vanish_below_float32_resolution():
    # the script's pair sum over a training set is n exactly in float32: the diagonal gives n and the rest
    # is far below half a unit in the last place; checked with the exact excess of lindiff.memorization
    for n in (25, 100):
        X, _ = A.draw_repetition(100, n, 0)
        excess = math.exp(M.log_self_overlap_excess(X, 1.0))     # (1/n) Σ_{j≠k} pair terms
        assert n * excess < U32
        pair = np.exp(-((X[:, None, :] - X[None, :, :]) ** 2).sum(-1) / (4 * float(A._bandwidth32(n, 100, 1.0)) ** 2))
        assert float(np.sum(pair.astype(np.float32), dtype=np.float32)) == n


# --------------------------------------------------------------------------- float32 sum
def test_float32_sum_equals_numpy_float32_accumulation_on_float32_values():
    # for float32 inputs the script's step fl32(s + t) is a single float32 addition, which numpy does itself
    rng = np.random.default_rng(0)
    for scale in (1.0, 1e-20, 1e-40):
        x = (rng.exponential(size=5000) * scale).astype(np.float32)
        assert A.float32_sum(x.astype(float)) == float(np.add.accumulate(x, dtype=np.float32)[-1])


def test_float32_sum_loses_small_terms_and_stays_within_the_error_bound():
    assert A.float32_sum([1.0, 2.0**-25]) == 1.0
    assert A.float32_sum([1.0, 2.0**-23]) == 1.0 + 2.0**-23
    assert A.float32_sum([1e-46, 1e-46]) == 0.0                   # below the smallest subnormal, even at s = 0
    assert A.float32_sum([1e-30, 1e-30]) == float(np.float32(2e-30))
    rng = np.random.default_rng(1)
    x = np.exp(-rng.uniform(20, 40, size=10_000))
    exact = math.fsum(x.tolist())
    assert abs(A.float32_sum(x) - exact) <= (x.size - 1) * U32 / (1 - (x.size - 1) * U32) * exact
    assert A.float32_sum(x) != exact


# --------------------------------------------------------------------------- fit and Gaussian
def test_noisy_inputs_in_float32_and_float64():
    X, z = A.draw_repetition(100, 25, 0)
    a, h = onestep.forward_coefficients(T, ELL)
    exact = a * X - math.sqrt(h) * z
    np.testing.assert_allclose(A.noisy_inputs(X, T, ELL, z, float32=False), exact, rtol=1e-15)
    y32 = A.noisy_inputs(X, T, ELL, z)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, exact, rtol=0, atol=4 * U32 * np.abs(a * X).max())


def test_float64_fit_is_least_squares_with_intercept_of_rank_n_minus_1():
    X, z = A.draw_repetition(100, 40, 2)
    Y = A.noisy_inputs(X, T, ELL, z, float32=False)
    W, b, rank = A.least_squares_fit(Y, X, float32=False)
    Yc, Xc = Y - Y.mean(0), X - X.mean(0)
    # the centering leaves a singular value near 1e-15 of the largest even in double precision: a cutoff
    # well above it (here 1e-10) gives the exact-arithmetic, rank N − 1 solution
    np.testing.assert_allclose(W, (np.linalg.pinv(Yc, rcond=1e-10) @ Xc).T, atol=1e-9)
    np.testing.assert_allclose(b, X.mean(0) - W @ Y.mean(0), atol=1e-9)
    assert rank == 39
    np.testing.assert_allclose(Y @ W.T + b, X, atol=1e-9)            # N ≤ d: the fit interpolates


def test_float32_fit_is_scipy_lstsq_on_float32_data_and_keeps_the_rounding_direction():
    for n in (25, 75, 100):
        X, z = A.draw_repetition(100, n, 1)
        Y = A.noisy_inputs(X, T, ELL, z)
        W, b, rank = A.least_squares_fit(Y, X)
        Y32, X32 = Y.astype(np.float32), X.astype(np.float32)
        Yc, Xc = Y32 - np.average(Y32, axis=0), X32 - np.average(X32, axis=0)
        coef, _, rank_ref, sv = scipy.linalg.lstsq(Yc, Xc)           # default driver and cutoff
        np.testing.assert_array_equal(W, coef.T)
        assert rank == rank_ref == n
        # rank n, not n − 1: the centered float32 inputs keep a singular value at the rounding level,
        # above the default cutoff 2⁻²³ × largest, while in exact arithmetic it is 0
        assert np.finfo(np.float32).eps < sv[n - 1] / sv[0] < 1e-4
        Y64 = A.noisy_inputs(X, T, ELL, z, float32=False)
        sv64 = np.linalg.svd(Y64 - Y64.mean(0), compute_uv=False)
        assert sv64[n - 1] / sv64[0] < 1e-13


def test_generated_gaussian_covariances_are_v_WtW_and_v_WWt():
    X, z, W, b, rank, p_t = fitted(30)
    p_c = A.generated_gaussian(X, W, b, T, ELL, transposed=False)
    v = onestep.generator_variance(X, T, ELL)
    a, _ = onestep.forward_coefficients(T, ELL)
    np.testing.assert_allclose(p_t.cov, v * W.T @ W, rtol=1e-5, atol=1e-6 * np.abs(p_t.cov).max())
    np.testing.assert_allclose(p_c.cov, v * W @ W.T, rtol=1e-5, atol=1e-6 * np.abs(p_c.cov).max())
    np.testing.assert_allclose(p_t.mean, a * W @ X.mean(0) + b, rtol=1e-6)
    np.testing.assert_allclose(np.sort(p_t.eigvals), np.sort(p_c.eigvals), atol=1e-10 * p_t.eigvals.max())
    # the single-draw W is not symmetric: the two covariances differ, and only v W Wᵀ stays in the
    # span of the centered training points (up to the float32 rounding direction)
    assert np.linalg.norm(p_t.cov - p_c.cov) > 0.3 * np.linalg.norm(p_c.cov)


def test_only_the_exact_fit_with_v_WWt_stays_in_the_span_of_the_training_points():
    X, z = A.draw_repetition(100, 30, 0)
    B = np.linalg.qr((X - X.mean(0)).T)[0][:, :29]
    outside = lambda p: np.linalg.norm(p.cov - B @ (B.T @ p.cov)) / np.linalg.norm(p.cov)   # noqa: E731
    Y64 = A.noisy_inputs(X, T, ELL, z, float32=False)
    W64, b64, _ = A.least_squares_fit(Y64, X, float32=False)
    assert outside(A.generated_gaussian(X, W64, b64, T, ELL, transposed=False, float32=False)) < 1e-8
    assert outside(A.generated_gaussian(X, W64, b64, T, ELL, float32=False)) > 0.5
    # the float32 fit's extra direction comes from the rounding of the centered training points, outside their span
    Y = A.noisy_inputs(X, T, ELL, z)
    W, b, _ = A.least_squares_fit(Y, X)
    assert outside(A.generated_gaussian(X, W, b, T, ELL, transposed=False)) > 0.05


def test_float64_transposed_gaussian_is_memorizations_code_faithful_distribution():
    # lindiff.memorization builds the script's Gaussian in exact arithmetic from its own noise draw
    X, _ = A.draw_repetition(100, 30, 4)
    rng = np.random.default_rng(9)
    p_mem = M.code_faithful_distribution(X, T, ELL, np.random.default_rng(9))
    z = -rng.standard_normal(X.shape)      # onestep adds the noise, the script subtracts it
    Y = A.noisy_inputs(X, T, ELL, z, float32=False)
    W, b, _ = A.least_squares_fit(Y, X, float32=False)
    p = A.generated_gaussian(X, W, b, T, ELL, float32=False)
    np.testing.assert_allclose(p.cov, p_mem.cov, atol=1e-9 * np.abs(p.cov).max())
    np.testing.assert_allclose(p.mean, p_mem.mean, rtol=1e-12)


def test_averaged_fit_is_symmetric_so_the_transpose_does_not_matter():
    X, _ = A.draw_repetition(100, 30, 0)
    W, b = onestep.fit_denoiser(X, T, ELL)
    p_t = A.generated_gaussian(X, W, b, T, ELL, float32=False)
    p_c = A.generated_gaussian(X, W, b, T, ELL, transposed=False, float32=False)
    np.testing.assert_allclose(p_t.cov, p_c.cov, atol=1e-12)
    np.testing.assert_allclose(p_t.cov, onestep.generated_distribution(X, T, ELL).cov, atol=1e-12)


# --------------------------------------------------------------------------- cross term and distance
def small_gaussian(d=6, rank=3, seed=0):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(d, rank))
    return Gaussian(10.0 + 0.3 * rng.normal(size=d), B @ B.T * 0.2)


def test_cross_term_against_dense_inverse_and_determinant():
    p = small_gaussian()
    pts = 10.0 + np.random.default_rng(1).normal(size=(40, 6))
    eps = float(np.float32(40 ** (-1 / 6)))
    C = p.cov + eps**2 * np.eye(6)
    Ci = np.linalg.inv(C)
    vals = [math.exp(-0.5 * (p.mean - x) @ Ci @ (p.mean - x)) for x in pts]
    two_pi = float(np.float32(2) * np.float32(math.pi))
    dense = 2 / (40 * math.sqrt(two_pi * np.linalg.det(C))) * math.fsum(vals)
    assert A.cross_term(p, pts, float32_accumulation=False) == pytest.approx(dense, rel=1e-6)
    assert A.cross_term(p, pts) == pytest.approx(dense, rel=40 * U32)


def test_cross_term_is_the_kernel_overlap_of_memorization_times_the_scripts_constant():
    # 2 (2π)^{(d−1)/2} ∫ p q_D with the script's float32 bandwidth (eq-mem-overlap)
    X, z, W, b, rank, p = fitted(50)
    eps = float(A._bandwidth32(50, 100, 1.0))
    expected = 2 * (2 * math.pi) ** (99 / 2) * math.exp(M.log_overlap(p, X, eps))
    assert A.cross_term(p, X, float32_accumulation=False) == pytest.approx(expected, rel=1e-6)


def test_kernel_distance_is_the_l2_distance_minus_int_p_squared_in_exact_arithmetic():
    # with exact self terms, e_D/(2π)^{(d−1)/2} = ∫q_D² − 2∫p q_D − (pair excess), the pair excess being
    # what the script's float32 pair sum drops (lindiff.memorization computes ∫q_D² with it)
    d, n = 5, 30
    p = small_gaussian(d, 2, 3)
    pts = 10.0 + np.random.default_rng(2).normal(size=(n, d))
    eps = float(A._bandwidth32(n, d, 1.0))
    off = A.Ingredients(float32_self_term=False, float32_sums=False)
    e = A.kernel_distance(p, pts, ingredients=off) / (2 * math.pi) ** ((d - 1) / 2)
    self_overlap = math.exp(M.log_self_overlap(pts, eps))
    pairs = math.exp(M.log_self_overlap_excess(pts, 1.0)) * (4 * math.pi) ** (-d / 2)
    assert e == pytest.approx(self_overlap - pairs - 2 * math.exp(M.log_overlap(p, pts, eps)), rel=1e-5)


def test_cutoff_never_acts_in_the_cross_term_at_unit_std_but_raises_where_the_script_divides_by_zero():
    X, z, W, b, rank, p = fitted(25)
    assert A.cross_term(p, X) == A.cross_term(p, X, cutoff=False)
    q = Gaussian(np.full(100, 10.0), np.zeros((100, 100)))
    pts = np.full((10, 100), 10.0)
    with pytest.raises(ValueError, match="cutoff"):
        A.cross_term(q, pts, std=0.5)
    assert A.cross_term(q, pts, std=0.5, cutoff=False) > 0


def test_reference_kernel_values_have_the_law_of_values_at_explicit_points():
    # eigenbasis sampling (one draw per direction of Σ plus a noncentral chi-square) against points
    d, rank, size = 8, 3, 40_000
    p = small_gaussian(d, rank, 5)
    vals = A.reference_kernel_values(p, size, seed=3)
    eps = float(A._bandwidth32(size, d, 1.0))
    x = 10.0 + np.random.default_rng(4).normal(size=(size, d))
    C = p.cov + eps**2 * np.eye(d)
    direct = np.exp(-0.5 * np.einsum("ij,jk,ik->i", p.mean - x, np.linalg.inv(C), p.mean - x))
    assert stats.ks_2samp(vals, direct).pvalue > 1e-3
    # and the mean against the closed form E exp(−½ (μ−x)ᵀC⁻¹(μ−x)) = det(I + C⁻¹)^{−1/2} exp(−½ δᵀ(C + I)⁻¹δ)
    delta = p.mean - 10.0
    closed = np.linalg.det(np.eye(d) + np.linalg.inv(C)) ** -0.5 * math.exp(-0.5 * delta @ np.linalg.solve(C + np.eye(d), delta))
    for sample in (vals, direct):                 # heavy-tailed values: within 4 standard errors
        assert abs(sample.mean() - closed) < 4 * sample.std() / math.sqrt(size)
    assert vals.std() / math.sqrt(size) < 0.1 * closed


# --------------------------------------------------------------------------- Hellinger
def test_hellinger_without_cutoff_is_the_exact_hellinger_distance():
    rng = np.random.default_rng(0)
    for d in (3, 8):
        B = rng.normal(size=(d, d))
        p = Gaussian(10 + rng.normal(size=d), B @ B.T / d + 0.2 * np.eye(d))
        target = Gaussian(np.full(d, 10.0), np.eye(d))
        exact = hellinger2(p, target)
        assert A.hellinger2_script(p, 10.0, 1.0, cutoff=False) == pytest.approx(exact, rel=1e-10, abs=1e-14)
        # the script's formula with dense determinants and a dense inverse
        C = p.cov + np.eye(d)
        dm = p.mean - 10.0
        bc = 2 ** (d / 2) * np.linalg.det(p.cov) ** 0.25 / np.linalg.det(C) ** 0.5 * math.exp(-0.25 * dm @ np.linalg.solve(C, dm))
        assert A.hellinger2_script(p, 10.0, 1.0) == pytest.approx(1 - bc, rel=1e-10)


def test_hellinger_cutoff_sets_small_determinants_to_zero():
    d = 40
    p = Gaussian(np.full(d, 10.2), 0.4 * np.eye(d))            # det Σ = 0.4^40 = e^{−36.7} < e^{−25}
    exact = hellinger2(p, Gaussian(np.full(d, 10.0), np.eye(d)))
    assert 0.5 < exact < 1.0
    assert A.hellinger2_script(p, 10.0, 1.0, cutoff=False) == pytest.approx(exact, rel=1e-10)
    assert A.hellinger2_script(p, 10.0, 1.0) == 1.0
    # a degenerate Gaussian is at distance 1 with or without the cutoff
    q = Gaussian(np.full(d, 10.0), np.diag(np.r_[np.ones(d - 1), 0.0]))
    assert A.hellinger2_script(q, 10.0, 1.0) == A.hellinger2_script(q, 10.0, 1.0, cutoff=False) == hellinger2(
        q, Gaussian(np.full(d, 10.0), np.eye(d))) == 1.0
    with pytest.raises(ValueError, match="cutoff"):
        A.hellinger2_script(p, 10.0, 0.3)                       # det(Σ + σ²I) < e^{−25}: the script divides by 0


def test_script_gaussian_at_n_equal_d_is_nondegenerate_through_the_float32_fit():
    target = Gaussian(np.full(100, 10.0), np.eye(100))
    gaps = []
    for r in range(6):
        X, z, W, b, rank, p = fitted(100, repetition=r)
        assert rank == 100 and p.logdet() > -25                   # the cutoff does not act
        h2 = A.hellinger2_script(p, 10.0, 1.0)
        assert h2 == pytest.approx(hellinger2(p, target), abs=1e-15)
        gaps.append(1 - h2)
    assert max(gaps) > 0 and max(gaps) < 1e-9
    # in exact arithmetic the fit has rank N − 1 and the Gaussian is degenerate: H² = 1
    Y = A.noisy_inputs(X, T, ELL, z, float32=False)
    W64, b64, rank64 = A.least_squares_fit(Y, X, float32=False)
    assert rank64 == 99
    assert A.hellinger2_script(A.generated_gaussian(X, W64, b64, T, ELL, float32=False), 10.0, 1.0) == 1.0


# --------------------------------------------------------------------------- repetitions
def test_shortcuts_do_not_change_any_sign():
    kw = dict(d=30, n_values=(10, 20, 30, 40), reference_size=2000)
    variants = {"script": A.Ingredients(), "exact self": A.Ingredients().without("float32_self_term"),
                "WWt": A.Ingredients().without("transposed_covariance")}
    fast = A.run_variants(variants, 12, **kw)
    slow = A.run_variants(variants, 12, **kw, shortcuts=False)
    settled = 0
    for name in variants:
        np.testing.assert_array_equal(fast[name].positive, slow[name].positive)
        assert not slow[name].settled_early.any() and not slow[name].settled_by_bound.any()
        settled += fast[name].settled_early.sum() + fast[name].settled_by_bound.sum()
        both = ~np.isnan(fast[name].delta)
        np.testing.assert_allclose(fast[name].delta[both], slow[name].delta[both], rtol=1e-9)
    assert settled > 0


def test_run_matches_explicit_computation_with_the_public_functions():
    # the training-set side of each repetition, recomputed with the public functions
    run = A.run_script(3, d=20, n_values=(8, 20), reference_size=500)
    for i, n in enumerate((8, 20)):
        for r in range(3):
            X, z = A.draw_repetition(20, n, r)
            W, b, rank = A.least_squares_fit(A.noisy_inputs(X, T, ELL, z), X)
            p = A.generated_gaussian(X, W, b, T, ELL)
            assert run.rank[i, r] == rank
            assert run.cross_train[i, r] == pytest.approx(A.cross_term(p, X), rel=1e-9)
            assert run.hellinger2[i, r] == pytest.approx(A.hellinger2_script(p, 10.0, 1.0), abs=1e-12)
            assert run.self_train[i] == A.self_term(n, 20)


def test_script_parameters_print_one_at_75_and_100_from_the_rounding_alone():
    # at N = 75 and 100 the sign is settled by the training set: the float32 self terms differ by more than
    # the training cross term, and the reference cross term can only raise Δ
    run = A.run_script(6, n_values=(75, 100))
    assert run.positive.all() and run.settled_early.all()
    assert np.all(run.self_train > run.self_reference)
    assert np.all(run.cross_train < (run.self_train - run.self_reference)[:, None])
    exact = A.run_script(6, n_values=(75, 100), ingredients=A.Ingredients().without("float32_self_term"))
    assert not exact.settled_early.any()


def test_printed_probability_is_half_plus_half_the_mean_sign():
    run = A.run_script(5, d=20, n_values=(5, 20), reference_size=300)
    np.testing.assert_allclose(run.printed_probability, run.p_delta_positive)
    assert np.all(run.std_error <= 0.5 / math.sqrt(5) + 1e-12)


@pytest.mark.parametrize("call, name", [
    (lambda: A.self_term(0, 100), "n"),
    (lambda: A.self_term(10, 100, std=-1.0), "std"),
    (lambda: A.self_term(10, 2.5), "d"),
    (lambda: A.float32_sum([1.0, math.nan]), "values"),
    (lambda: A.noisy_inputs(np.ones((3, 2)), 2.0, ELL, np.ones((2, 2))), "noise"),
    (lambda: A.noisy_inputs(np.ones((3, 2)), math.nan, ELL, np.ones((3, 2))), "T"),
    (lambda: A.least_squares_fit(np.ones((3, 2)), np.ones((4, 2))), "targets"),
    (lambda: A.generated_gaussian(np.ones((3, 2)), np.ones((3, 3)), np.ones(2), T, ELL), "W"),
    (lambda: A.cross_term(np.eye(2), np.ones((3, 2))), "p"),
    (lambda: A.cross_term(Gaussian(np.zeros(2), np.eye(2)), np.ones((3, 5))), "points"),
    (lambda: A.hellinger2_script(Gaussian(np.zeros(2), np.eye(2)), math.inf, 1.0), "mean"),
    (lambda: A.kernel_distance(Gaussian(np.zeros(2), np.eye(2)), np.ones((3, 2)), ingredients="all"), "ingredients"),
    (lambda: A.run_script(0), "repetitions"),
    (lambda: A.run_script(2, n_values=25), "n_values"),
    (lambda: A.run_script(2, n_values=[1]), "n_values"),
    (lambda: A.run_variants({}, 2), "variants"),
    (lambda: A.run_variants({"a": A.Ingredients()}, {"b": 3}), "repetitions"),
    (lambda: A.run_variants({"a": A.Ingredients()}, 2, shortcuts="yes"), "shortcuts"),
    (lambda: A.reference_kernel_values(Gaussian(np.zeros(2), np.eye(2)), 0), "size"),
    (lambda: A.draw_repetition(10, 1, 0), "n"),
    (lambda: A.self_term_rounding(np.array([0, 3]), 100), "n"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises((TypeError, ValueError), match=name):
        call()


def test_float32_sum_is_emulated_term_by_term_exactly_when_it_could_decide_the_sign():
    vals = np.exp(-np.random.default_rng(3).uniform(10, 30, size=3000))
    exact = float(np.sum(vals))
    # a threshold inside the float32 rounding interval: only the term-by-term sum can tell
    delta, cross, emulated = A._decide(lambda c: c - 2.0 * exact, 2.0, vals, True)
    assert emulated and cross == 2.0 * A.float32_sum(vals) and delta == cross - 2.0 * exact
    # a threshold far outside it: settled from the exact sum
    delta, cross, emulated = A._decide(lambda c: c - 3.0 * exact, 2.0, vals, True)
    assert not emulated and delta < 0 and cross == 2.0 * exact


def test_rounding_of_the_self_terms_only_adds_its_own_sign_to_the_cross_term_verdict():
    # on the same draws, Δ_script = (e^self_N − e^self_M) + (cross_ref − cross_train): where the rounding is
    # positive every "generalizing" verdict of the exact self terms survives, where negative every "memorizing"
    ns = (10, 20, 30, 40)
    kw = dict(d=30, n_values=ns, reference_size=2000)
    runs = A.run_variants({"script": A.Ingredients(), "exact": A.Ingredients().without("float32_self_term")}, 16, **kw)
    for i, n in enumerate(ns):
        rounding = A.self_term(n, 30) - A.self_term(2000, 30)
        s, e = runs["script"].positive[i], runs["exact"].positive[i]
        if rounding > 0:
            assert np.all(s[e])
        else:
            assert not np.any(s[~e])
