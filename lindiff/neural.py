"""Trained neural denoisers on JAX, measured against the linear theory.

Chapter ``book/neural_denoisers.md`` uses everything here. A time-conditioned
noise predictor ``eps_theta(x, t)`` is trained by denoising score matching on
the schedule of ``book/notation.md`` (``eq-ddpm-forward``) and sampled with the
ancestral sampler ``eq-ddpm-sampler`` (``sigma_t^2 = beta_t`` at every step,
including ``t = 1``), exactly as :mod:`lindiff.ddpm` and
:mod:`lindiff.empirical` do. Two architectures:

* ``arch="linear"``: ``eps = W_t x + b_t`` with one ``W_t`` and ``b_t`` per step,
  from ``W = 0``: the model of :mod:`lindiff.ddpm`, whose loss minimizer (with
  the free bias, ``center=True``) and sampling distribution are known in closed
  form. Training it here is the test that ties this module to the theory.
* ``arch="mlp"``: a residual MLP of ``depth`` blocks of ``width`` units with a
  sinusoidal embedding of ``t`` added in every block; the output layer starts
  at zero, so training starts from ``eps = 0`` as the linear model does.

Training draws, at every optimizer step, a minibatch of ``min(batch_size, N)``
training points (with replacement), one step ``t`` uniform in ``1..T`` and one
noise vector per point, and takes one Adam step on the loss summed over
coordinates and averaged over the batch (``eq-ddpm-loss``). Everything is
jit-compiled; the number of training points and of optimizer steps are
run-time values, so one compilation serves every ``N`` and every budget of a
chapter.

Sample-based measures (:func:`copy_fraction`, :func:`nearest_neighbor_ratios`,
:func:`sample_memorization_statistic`, :func:`sample_relative_distance`,
:func:`gaussian_fit_kl`, :func:`direction_variances`) work for any sampler: a
network ends in samples, not in a :class:`lindiff.Gaussian`. JAX stays inside
this module: every public function returns numpy arrays or Python floats.

``python -m lindiff.neural`` runs the paper-scale experiments of the chapter
(``--help`` for the options) and writes ``book/data/neural_results.json``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache, partial

import numpy as np
from scipy.special import logsumexp

from . import ddpm
from ._validate import as_data_matrix, as_finite_array, as_int, as_positive_float
from .gaussian import Gaussian, kl_divergence
from .memorization import kernel_bandwidth, log_self_overlap_excess

# XLA's CPU client starts one thread per core for every operation. Our
# networks are small (d <= 64, width <= 256), so those threads mostly wait for
# each other, and on a shared two-core machine they compete with the other
# processes of `make test`; single-threaded runs measured as fast in CPU time.
# A user's own XLA_FLAGS win; set them before importing lindiff.neural.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

__all__ = [
    "ARCHITECTURES",
    "TrainedDenoiser",
    "train_denoiser",
    "epoch_steps",
    "compilation_cache",
    "copy_fraction",
    "nearest_neighbor_ratios",
    "sample_memorization_statistic",
    "sample_relative_distance",
    "gaussian_fit",
    "gaussian_fit_kl",
    "direction_variances",
    "measures",
    "crossing",
    "SETTINGS",
    "AUTHOR_PROTOCOL",
    "N_OVER_D",
    "Experiment",
    "experiment",
    "baseline_samples",
    "author_training_set",
    "train_protocol",
    "record",
    "run_experiments",
    "main",
]

#: The noise predictors :func:`train_denoiser` can train.
ARCHITECTURES = ("linear", "mlp")

#: Dimension of the sinusoidal time embedding of the MLP.
EMBED_DIM = 32


# --------------------------------------------------------------------------- setup
def compilation_cache(directory) -> str:
    """Keep JAX's compiled programs in ``directory`` (created if missing) across processes.

    The book executes every page twice (nbval and the site build); with the
    cache the second execution loads the compiled training and sampling loops
    instead of compiling them again. Compilation is deterministic, so a cached
    program computes the same numbers. Returns the absolute path.
    """
    path = os.path.abspath(os.fspath(directory))
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def _schedule32(T, beta_min, beta_max):
    """``beta_t``, ``sqrt(alpha_bar_t)`` and ``sqrt(1 - alpha_bar_t)`` (float32), ``1 - alpha_bar`` without cancellation."""
    betas, alpha_bars = ddpm.linear_schedule(T, beta_min, beta_max)
    one_minus = -np.expm1(np.cumsum(np.log1p(-betas)))
    one_minus[0] = betas[0]
    return (jnp.asarray(betas, jnp.float32), jnp.asarray(np.sqrt(alpha_bars), jnp.float32),
            jnp.asarray(np.sqrt(one_minus), jnp.float32))


# --------------------------------------------------------------------------- networks
def _time_embedding(t, T):
    """Sinusoidal embedding of the step ``t`` (integer array), frequencies ``T^(-2i/E)``, shape (..., E)."""
    half = EMBED_DIM // 2
    freqs = jnp.exp(-math.log(max(T, 2)) * jnp.arange(half, dtype=jnp.float32) / half)
    angles = t.astype(jnp.float32)[..., None] * freqs
    return jnp.concatenate([jnp.sin(angles), jnp.cos(angles)], axis=-1)


def _init_params(arch, d, T, width, depth, key):
    if arch == "linear":
        return {"W": jnp.zeros((T, d, d), jnp.float32), "b": jnp.zeros((T, d), jnp.float32)}
    keys = jax.random.split(key, 2 + 2 * depth)
    normal = lambda k, shape, fan_in: jax.random.normal(k, shape, jnp.float32) / math.sqrt(fan_in)
    params = {
        "W_in": normal(keys[0], (d, width), d),
        "E_in": normal(keys[1], (EMBED_DIM, width), EMBED_DIM),
        "b_in": jnp.zeros(width, jnp.float32),
        "blocks": [
            {"W": normal(keys[2 + 2 * k], (width, width), width),
             "E": normal(keys[3 + 2 * k], (EMBED_DIM, width), EMBED_DIM),
             "b": jnp.zeros(width, jnp.float32)}
            for k in range(depth)
        ],
        "W_out": jnp.zeros((width, d), jnp.float32),
        "b_out": jnp.zeros(d, jnp.float32),
    }
    return params


def _apply(arch, T, params, x, t):
    """``eps_theta(x, t)`` for a batch: ``x`` shape (B, d), ``t`` shape (B,) with entries in ``1..T``."""
    if arch == "linear":
        W = params["W"][t - 1]
        return jnp.einsum("bij,bj->bi", W, x) + params["b"][t - 1]
    emb = _time_embedding(t, T)
    h = x @ params["W_in"] + emb @ params["E_in"] + params["b_in"]
    for blk in params["blocks"]:
        h = h + jax.nn.silu(h @ blk["W"] + emb @ blk["E"] + blk["b"])
    return h @ params["W_out"] + params["b_out"]


# --------------------------------------------------------------------------- training
def _padded_size(n: int) -> int:
    """Rows of the padded training array: a power of two >= max(n, 256).

    The training loop is compiled once per padded size, so every ``N`` up to
    256 shares one program, and larger ``N`` one program per octave.
    """
    return 1 << max(8, (n - 1).bit_length())


@lru_cache(maxsize=None)
def _trainer(arch, d, T, width, depth, batch_size, rows, decay):
    """The compiled training program for one configuration (cached per process)."""

    def optimizer(learning_rate, total_steps):
        if decay:
            lr = lambda count: learning_rate * 0.5 * (1.0 + jnp.cos(jnp.pi * jnp.minimum(count / total_steps, 1.0)))
        else:
            lr = learning_rate
        return optax.adam(lr)

    def loss_fn(params, x0, t, noise, sab, somab):
        xt = sab[t - 1][:, None] * x0 + somab[t - 1][:, None] * noise
        err = _apply(arch, T, params, xt, t) - noise
        return jnp.mean(jnp.sum(err * err, axis=1))

    @jax.jit
    def init(key, learning_rate, total_steps):
        params = _init_params(arch, d, T, width, depth, key)
        return params, optimizer(learning_rate, total_steps).init(params)

    @jax.jit
    def run(params, opt_state, key, start, stop, data, n, learning_rate, total_steps, sab, somab):
        opt = optimizer(learning_rate, total_steps)

        def body(step, carry):
            params, opt_state, total = carry
            k_idx, k_t, k_noise = jax.random.split(jax.random.fold_in(key, step), 3)
            idx = jax.random.randint(k_idx, (batch_size,), 0, n)
            t = jax.random.randint(k_t, (batch_size,), 1, T + 1)
            noise = jax.random.normal(k_noise, (batch_size, d), jnp.float32)
            loss, grads = jax.value_and_grad(loss_fn)(params, data[idx], t, noise, sab, somab)
            updates, opt_state = opt.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, total + loss

        params, opt_state, total = jax.lax.fori_loop(start, stop, body, (params, opt_state, jnp.float32(0.0)))
        return params, opt_state, total / jnp.maximum(stop - start, 1)

    return init, run


@lru_cache(maxsize=None)
def _sampler(arch, d, T, width, depth):
    @jax.jit
    def sample(params, key, u, betas, sab, somab):
        def step(u, inputs):
            t, k = inputs
            tt = jnp.full((u.shape[0],), t)
            eps = _apply(arch, T, params, u, tt)
            beta = betas[t - 1]
            mean = (u - (beta / somab[t - 1]) * eps) / jnp.sqrt(1.0 - beta)
            return mean + jnp.sqrt(beta) * jax.random.normal(k, u.shape, jnp.float32), None

        ts = jnp.arange(T, 0, -1)
        keys = jax.random.split(key, T)
        u, _ = jax.lax.scan(step, u, (ts, keys))
        return u

    return sample


@dataclass(frozen=True, eq=False)
class TrainedDenoiser:
    """A noise predictor trained by :func:`train_denoiser`, and its sampler.

    Attributes
    ----------
    arch : str
    d, T : int
    beta_min, beta_max : float
    width, depth : int
        Size of the MLP (ignored for ``arch="linear"``).
    steps : int
        Optimizer steps taken.
    loss_history : ndarray, shape (ceil(steps / log_every),)
        Training loss (summed over coordinates, ``eq-neural-loss``), averaged over
        each logging interval; the last interval may be shorter.
    log_every : int
    seed : int
    params : dict
        The network parameters (JAX arrays).
    """

    arch: str
    d: int
    T: int
    beta_min: float
    beta_max: float
    width: int
    depth: int
    steps: int
    loss_history: np.ndarray
    log_every: int
    seed: int
    params: dict = field(repr=False)

    def predict_noise(self, x, t: int) -> np.ndarray:
        """``eps_theta(x, t)`` for points ``x`` of shape (n, d) at one step ``t`` in ``1..T``."""
        pts = as_finite_array(x, "x", ndim=2)
        if pts.shape[1] != self.d:
            raise ValueError(f"x must have d = {self.d} columns, got shape {pts.shape}")
        t = as_int(t, "t", minimum=1)
        if t > self.T:
            raise ValueError(f"t must be in 1..T = {self.T}, got {t}")
        tt = jnp.full((pts.shape[0],), t)
        return np.asarray(_apply(self.arch, self.T, self.params, jnp.asarray(pts, jnp.float32), tt), dtype=float)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` samples of the ancestral sampler ``eq-ddpm-sampler`` with this denoiser.

        ``u_T ~ N(0, I)``, then ``t = T..1`` with ``sigma_t^2 = beta_t`` (also at
        ``t = 1``), all from ``jax.random.PRNGKey(seed)``. Returns float64, shape (n, d).
        """
        n = as_int(n, "n", minimum=1)
        seed = as_int(seed, "seed", minimum=0)
        betas, sab, somab = _schedule32(self.T, self.beta_min, self.beta_max)
        k_init, k_steps = jax.random.split(jax.random.PRNGKey(seed))
        u = jax.random.normal(k_init, (n, self.d), jnp.float32)
        run = _sampler(self.arch, self.d, self.T, self.width, self.depth)
        return np.asarray(run(self.params, k_steps, u, betas, sab, somab), dtype=float)


def epoch_steps(n_train: int, epochs: int, batch_size: int = 128) -> int:
    """Optimizer steps of ``epochs`` passes over ``n_train`` points in batches of ``batch_size``.

    ``epochs * ceil(n_train / batch_size)``: the budget of the author's
    protocol (``halder2025code``), where training time grows with ``N``.
    """
    n_train = as_int(n_train, "n_train", minimum=1)
    epochs = as_int(epochs, "epochs", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    return epochs * -(-n_train // batch_size)


def train_denoiser(X, arch: str = "mlp", T: int = 1000, beta_min: float = 1e-4, beta_max: float = 1e-2,
                   steps: int = 2000, batch_size: int = 256, learning_rate: float = 1e-3, width: int = 256,
                   depth: int = 3, seed: int = 0, *, log_every: int | None = None, decay: bool = False,
                   checkpoints=()):
    """Train a noise predictor on the rows of ``X`` by denoising score matching with Adam.

    Parameters
    ----------
    X : array_like, shape (N, d)
        Training set, ``N >= 2``, finite.
    arch : {"linear", "mlp"}
        See the module docstring.
    T, beta_min, beta_max
        The linear schedule (:func:`lindiff.ddpm.linear_schedule`).
    steps : int
        Optimizer steps, ``>= 1``.
    batch_size : int
        Training points per step, drawn with replacement (so a batch may be
        larger than the training set), each with its own ``t`` and noise.
    learning_rate : float
        Adam's step size: constant, or the start of a cosine decay to 0 over
        ``steps`` with ``decay=True``.
    width, depth : int
        Hidden units (``>= 1``) and residual blocks (``>= 0``) of the MLP.
    seed : int
        ``jax.random.PRNGKey(seed)`` draws the initial weights and every batch.
        The draws of step ``k`` depend only on ``(seed, k)``: with a constant
        learning rate, the first ``k`` steps of a longer run are the same as a
        run of ``k`` steps.
    log_every : int, optional
        The loss is averaged over intervals of this many steps; default
        ``max(1, steps // 100)``.
    decay : bool
        Cosine decay of the learning rate to 0 (used to reach the exact
        minimizer of the linear model in the tests).
    checkpoints : sequence of int
        Steps in ``1..steps`` at which to keep a copy of the model. With
        checkpoints the function returns a list of :class:`TrainedDenoiser`, one
        per distinct checkpoint in increasing order, the last at ``steps``.

    Returns
    -------
    TrainedDenoiser, or a list of them with ``checkpoints``
    """
    X = as_data_matrix(X, "X", min_rows=2)
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}")
    T = as_int(T, "T", minimum=1)
    steps = as_int(steps, "steps", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    learning_rate = as_positive_float(learning_rate, "learning_rate")
    width = as_int(width, "width", minimum=1)
    depth = as_int(depth, "depth", minimum=0)
    seed = as_int(seed, "seed", minimum=0)
    log_every = max(1, steps // 100) if log_every is None else as_int(log_every, "log_every", minimum=1)
    if not isinstance(decay, (bool, np.bool_)):
        raise TypeError(f"decay must be True or False, got {type(decay).__name__}")
    if isinstance(checkpoints, (int, np.integer)):
        raise TypeError("checkpoints must be a sequence of integers, e.g. (500, 2000)")
    keep = sorted({as_int(c, "checkpoints", minimum=1) for c in checkpoints})
    if keep and keep[-1] > steps:
        raise ValueError(f"checkpoints must lie in 1..steps = {steps}, got {keep[-1]}")
    betas, sab, somab = _schedule32(T, beta_min, beta_max)  # validates beta_min and beta_max
    n, d = X.shape
    if arch == "linear":
        width, depth = 0, 0
    rows = _padded_size(n)
    data = np.zeros((rows, d), np.float32)
    data[:n] = X
    init, run = _trainer(arch, d, T, width, depth, batch_size, rows, bool(decay))
    key_init, key_train = jax.random.split(jax.random.PRNGKey(seed))
    lr, total = jnp.float32(learning_rate), jnp.float32(steps)
    params, opt_state = init(key_init, lr, total)
    data, n_rows = jnp.asarray(data), jnp.int32(n)
    # run from boundary to boundary: every logging interval ends at one, and so does every checkpoint
    bounds = sorted(set(range(0, steps, log_every)) | set(keep) | {steps})
    history, out, acc, count = [], [], 0.0, 0
    for a, b in zip(bounds[:-1], bounds[1:]):
        params, opt_state, mean_loss = run(params, opt_state, key_train, jnp.int32(a), jnp.int32(b), data, n_rows,
                                           lr, total, sab, somab)
        acc += float(mean_loss) * (b - a)
        count += b - a
        if b % log_every == 0 or b == steps:
            history.append(acc / count)
            acc, count = 0.0, 0
        if b in keep or (b == steps and not keep):
            out.append(TrainedDenoiser(arch, d, T, float(beta_min), float(beta_max), width, depth, b,
                                       np.asarray(history, dtype=float), log_every, seed, params))
    if keep and keep[-1] != steps:
        out.append(TrainedDenoiser(arch, d, T, float(beta_min), float(beta_max), width, depth, steps,
                                   np.asarray(history, dtype=float), log_every, seed, params))
    return out if keep else out[0]


# --------------------------------------------------------------------------- measures
def _check_samples(samples, X, names=("samples", "X")):
    S = as_finite_array(samples, names[0], ndim=2)
    R = as_data_matrix(X, names[1], min_rows=1)
    if S.shape[0] < 1 or S.shape[1] != R.shape[1]:
        raise ValueError(f"{names[0]} must be a non-empty (n, {R.shape[1]}) array to match {names[1]}, got {S.shape}")
    return S, R


def _sq_distances(S, R):
    """Squared distances, shape (n, m), centered first so that |a|^2 + |b|^2 - 2ab keeps its digits."""
    c = R.mean(axis=0)
    S, R = S - c, R - c
    sq = np.einsum("ij,ij->i", S, S)[:, None] + np.einsum("ij,ij->i", R, R)[None, :] - 2.0 * (S @ R.T)
    return np.maximum(sq, 0.0)


def nearest_neighbor_ratios(samples, X):
    """Distances of each sample to its nearest and second-nearest rows of ``X``, and their ratio.

    Returns
    -------
    nearest, second, ratio : ndarray, shape (n,)
        ``ratio = nearest / second`` (``0`` when both are 0, i.e. a duplicated
        training point reproduced exactly).
    index : ndarray of int, shape (n,)
        Row of ``X`` nearest to each sample.
    """
    S, R = _check_samples(samples, X)
    if R.shape[0] < 2:
        raise ValueError("X must have at least 2 rows (a second-nearest point is needed)")
    sq = _sq_distances(S, R)
    part = np.argpartition(sq, 1, axis=1)[:, :2]
    two = np.take_along_axis(sq, part, axis=1)
    order = np.argsort(two, axis=1)
    two = np.sqrt(np.take_along_axis(two, order, axis=1))
    index = np.take_along_axis(part, order, axis=1)[:, 0]
    ratio = np.divide(two[:, 0], two[:, 1], out=np.zeros(len(S)), where=two[:, 1] > 0)
    return two[:, 0], two[:, 1], ratio, index


def copy_fraction(samples, X, ratio: float = 1 / 3) -> float:
    """Share of samples whose nearest row of ``X`` is closer than ``ratio`` times the second nearest.

    The criterion of Yoon et al. (2023) and Gu et al. (2023) for a generated
    sample that copies a training point: ``|y - x_(1)| < ratio |y - x_(2)|``
    with ``ratio = 1/3``. Chapter ``book/neural_denoisers.md``
    (definition ``def-neural-copy``).
    """
    r = as_positive_float(ratio, "ratio")
    if r >= 1:
        raise ValueError(f"ratio must be in (0, 1), got {ratio!r}")
    return float(np.mean(nearest_neighbor_ratios(samples, X)[2] < r))


def _log_kernel_means(S, P, bandwidth):
    """``ln q_P(y_i)`` for each sample ``y_i``: ``q_P = (1/m) sum_j N(.; p_j, bandwidth^2 I)``."""
    d = S.shape[1]
    e2 = bandwidth * bandwidth
    return (logsumexp(-0.5 * _sq_distances(S, P) / e2, axis=1) - math.log(P.shape[0])
            - 0.5 * d * math.log(2.0 * math.pi * e2))


def _log_overlaps(samples, train, reference, std):
    S, X = _check_samples(samples, train, ("samples", "train"))
    _, R = _check_samples(samples, reference, ("samples", "reference"))
    std = as_positive_float(std, "std")
    n, d = S.shape
    c_tr = float(logsumexp(_log_kernel_means(S, X, kernel_bandwidth(X.shape[0], d, std)))) - math.log(n)
    c_ref = float(logsumexp(_log_kernel_means(S, R, kernel_bandwidth(R.shape[0], d, std)))) - math.log(n)
    return c_tr, c_ref, X, R, std, d


def sample_memorization_statistic(samples, train, reference, std: float) -> float:
    """Monte-Carlo estimate of the memorization statistic from samples of the generator.

    ``Γ = ln ∫ p_G q_train − ln ∫ p_G q_ref`` (``book/memorization.md``,
    ``eq-mem-statistic``) with each overlap ``∫ p_G q = E_{y~p_G} q(y)`` replaced by
    the mean of ``q`` over the samples. The kernel densities are those of the
    book (bandwidth ``std · n^(−1/d)``). Both overlaps use the same samples, so
    much of their Monte-Carlo error cancels in the difference. Positive:
    memorizing. For a Gaussian generator
    :func:`lindiff.memorization.memorization_statistic` is the exact value.
    """
    c_tr, c_ref, *_ = _log_overlaps(samples, train, reference, std)
    return c_tr - c_ref


def sample_relative_distance(samples, train, reference, std: float, reference_excess: float | None = None) -> float:
    """Monte-Carlo estimate of the relative distance ``Δ/κ`` (``eq-mem-delta-stat``) from samples.

    The self-overlap excesses of the two point sets are exact
    (:func:`lindiff.memorization.log_self_overlap_excess`); the two cross
    overlaps are the sample means of :func:`sample_memorization_statistic`.
    ``Δ > 0``: the generator is farther from the training set than from the
    reference sample (generalizing). ``reference_excess`` may pass the
    ``O(M^2 d)`` excess of the reference sample if already known.
    """
    c_tr, c_ref, X, R, std, d = _log_overlaps(samples, train, reference, std)
    x_ref = log_self_overlap_excess(R, std) if reference_excess is None else float(reference_excess)
    x_tr = log_self_overlap_excess(X, std)
    log_kappa = -0.5 * d * math.log(4.0 * math.pi * std * std)
    logs = [x_tr, x_ref, c_tr - log_kappa + math.log(2.0), c_ref - log_kappa + math.log(2.0)]
    signs = [1.0, -1.0, -1.0, 1.0]
    top = max(v for v in logs if v > -math.inf)
    total = math.fsum(s * math.exp(v - top) for v, s in zip(logs, signs) if v > -math.inf)
    if total == 0.0:
        return 0.0
    log_abs = top + math.log(abs(total))
    return math.copysign(math.exp(log_abs) if log_abs < 709.0 else math.inf, total)


def gaussian_fit(samples) -> Gaussian:
    """The Gaussian with the sample mean and the sample covariance (normalized by ``n − 1``)."""
    S = as_data_matrix(samples, "samples", min_rows=2)
    return Gaussian(S.mean(axis=0), np.atleast_2d(np.cov(S, rowvar=False)))


def gaussian_fit_kl(samples, target: Gaussian):
    """``(KL(target ‖ fit) / d, KL(fit ‖ target) / d)`` for the Gaussian fit of the samples.

    A summary of second moments only: a generator that copies training points
    and one that generalizes can have the same fit. The fit of ``n`` samples
    carries its own error, about ``d / (4 n)`` per dimension in each direction
    for a Gaussian generator (``book/ddpm_denoisers.md``, ``eq-ddpm-wishart``):
    compare models at the same ``n``. ``inf`` when ``n <= d`` (singular fit).
    """
    if not isinstance(target, Gaussian):
        raise TypeError(f"target must be a lindiff.Gaussian, got {type(target).__name__}")
    S = as_data_matrix(samples, "samples", min_rows=2)
    if S.shape[1] != target.dim:
        raise ValueError(f"samples must have d = {target.dim} columns to match target, got {S.shape}")
    fit = gaussian_fit(S)
    d = target.dim
    return kl_divergence(target, fit) / d, kl_divergence(fit, target) / d


def direction_variances(samples, basis) -> np.ndarray:
    """Variance of the samples along each column of ``basis`` (about their mean, ``n − 1`` normalization).

    With ``basis`` the eigenvectors ``v_ν`` of the data covariance, this is the
    sampled variance ``λ̃_ν = v_νᵀ Cov(p_G) v_ν`` per eigen-direction that the
    linear theory predicts (``book/ddpm_denoisers.md``, ``eq-ddpm-product``).
    """
    S = as_data_matrix(samples, "samples", min_rows=2)
    B = as_finite_array(basis, "basis", ndim=2)
    if B.shape[0] != S.shape[1]:
        raise ValueError(f"basis must have d = {S.shape[1]} rows (one column per direction), got {B.shape}")
    return np.var(S @ B, axis=0, ddof=1)


def measures(samples, train, held_out, target: Gaussian, std: float, reference_excess: float | None = None) -> dict:
    """Every sample-based measure of the chapter for one generator, as a dict of floats.

    Keys: ``copy_fraction``; ``nn_median`` (median distance of a sample to its
    nearest training point) and ``held_out_nn_median`` (the same for the
    held-out points, the scale of a fresh draw); ``statistic`` and ``delta``
    (:func:`sample_memorization_statistic` and :func:`sample_relative_distance`
    with ``held_out`` as the reference sample); ``kl_ts`` and ``kl_st``
    (:func:`gaussian_fit_kl` against ``target``).
    """
    S, X = _check_samples(samples, train, ("samples", "train"))
    _, R = _check_samples(samples, held_out, ("samples", "held_out"))
    near, _, ratio, _ = nearest_neighbor_ratios(S, X)
    held_near = nearest_neighbor_ratios(R, X)[0]
    kl_ts, kl_st = gaussian_fit_kl(S, target) if S.shape[0] > S.shape[1] else (math.inf, math.inf)
    return {
        "copy_fraction": float(np.mean(ratio < 1 / 3)),
        "nn_median": float(np.median(near)),
        "held_out_nn_median": float(np.median(held_near)),
        "statistic": sample_memorization_statistic(S, X, R, std),
        "delta": sample_relative_distance(S, X, R, std, reference_excess),
        "kl_ts": float(kl_ts),
        "kl_st": float(kl_st),
    }


def crossing(x, y, level: float = 0.5) -> float:
    """The first ``x`` at which the curve ``y(x)`` falls below ``level``, interpolated linearly in ``ln x``.

    ``x`` increasing and positive. Returns ``x[0]`` when ``y`` starts below
    ``level`` (the crossing lies at or before the first point: report it as
    "at most x[0]") and ``inf`` when ``y`` never falls below it on the grid.
    Used for the size ``N`` at which a network stops copying (copy fraction
    below 1/2).
    """
    xs = as_finite_array(x, "x", ndim=1)
    ys = as_finite_array(y, "y", ndim=1)
    if xs.size < 1 or xs.shape != ys.shape or np.any(xs <= 0) or np.any(np.diff(xs) <= 0):
        raise ValueError("x must be increasing positive numbers and y of the same length")
    level = float(as_finite_array(level, "level", ndim=0))
    if ys[0] < level:
        return float(xs[0])
    for i in range(1, xs.size):
        if ys[i] < level:
            f = (ys[i - 1] - level) / (ys[i - 1] - ys[i])
            return float(math.exp(math.log(xs[i - 1]) + f * (math.log(xs[i]) - math.log(xs[i - 1]))))
    return math.inf


# --------------------------------------------------------------------------- the chapter's experiments
#: Settings shared by the chapter and ``python -m lindiff.neural`` (ours unless noted).
#: The schedule has T = 200 steps like the author's code, with beta_max = 0.05 so that
#: alpha_bar_T (about 0.0067) is that of the book's default schedule (T = 1000, beta_max = 0.01).
SETTINGS = {
    "d": 64, "T": 200, "beta_min": 1e-4, "beta_max": 0.05,
    "width": 128, "depth": 3, "batch_size": 128, "learning_rate": 3e-3,
    "n_samples": 500, "reference_size": 2000,
}

#: The author's training protocol (``halder2025code``: simulation.py, model.py): 10 epochs
#: with batch 128 and Adam at 2e-4, on 90 % of the N points.
AUTHOR_PROTOCOL = {"epochs": 10, "batch_size": 128, "learning_rate": 2e-4, "train_fraction": 0.9}

#: Training-set sizes of the chapter, as multiples of d.
N_OVER_D = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)

#: Data sets of the chapter.
DATA_KINDS = ("gaussian", "patches", "power_law")

#: Generators compared in the chapter: the trained MLP, the linear DDPM (closed form) and
#: the exact empirical denoiser (the perfect copier).
MODELS = ("mlp", "linear", "empirical")


@dataclass(frozen=True, eq=False)
class Experiment:
    """One training set of the chapter, with what is needed to measure a generator trained on it.

    Attributes
    ----------
    kind : str
        ``"gaussian"`` (``N(0, I_d)``), ``"patches"`` (standardized 8×8 patches,
        :func:`lindiff.data.patch_pool`) or ``"power_law"`` (``N(0, diag(λ))``,
        ``λ_ν ∝ ν^(−1)``, :func:`lindiff.ddpm.power_law_target`).
    X : ndarray, shape (N, d)
        Training set.
    held_out : ndarray, shape (M, d)
        Fresh points of the same distribution (patches: sharing no pixel with
        a training patch), the reference sample of the memorization measures.
    target : Gaussian
        The population Gaussian (patches: the pool's mean and covariance).
    std : float
        Bandwidth scale of the kernel densities: 1 for isotropic data, the
        geometric mean of the population standard deviations otherwise
        (``book/image_patches.md``, ``eq-data-sigma-g``).
    seed : int
    """

    kind: str
    X: np.ndarray
    held_out: np.ndarray
    target: Gaussian
    std: float
    seed: int

    @property
    def N(self) -> int:
        return int(self.X.shape[0])


def experiment(kind: str, N: int, seed: int = 0, d: int = 64, reference_size: int = 2000) -> Experiment:
    """The training set ``(kind, N, seed)`` of the chapter and its held-out reference sample.

    Gaussian and power-law data: ``X`` from ``numpy.random.default_rng([seed, N])``,
    the held-out sample from ``default_rng([seed, 0])`` (the same for every
    ``N``). Patches: :func:`lindiff.data.training_and_held_out` with ``seed``
    (``d`` must be 64).
    """
    from . import data

    if kind not in DATA_KINDS:
        raise ValueError(f"kind must be one of {DATA_KINDS}, got {kind!r}")
    N = as_int(N, "N", minimum=2)
    seed = as_int(seed, "seed", minimum=0)
    d = as_int(d, "d", minimum=1)
    M = as_int(reference_size, "reference_size", minimum=2)
    if kind == "patches":
        if d != 64:
            raise ValueError(f"d must be 64 (8×8 patches) for kind='patches', got {d}")
        pool = data.patch_pool(8)
        X, R = data.training_and_held_out(pool, N, M, seed=seed)
        target = pool.population
        std = float(np.exp(0.5 * np.mean(np.log(target.eigvals))))
        return Experiment(kind, X, R, target, std, seed)
    k = 0.0 if kind == "gaussian" else 1.0
    target = ddpm.power_law_target(d, k)
    scale = np.sqrt(ddpm.power_law_spectrum(d, k))
    X = np.random.default_rng([seed, N]).standard_normal((N, d)) * scale
    R = np.random.default_rng([seed, 0]).standard_normal((M, d)) * scale
    std = float(np.exp(0.5 * np.mean(np.log(target.eigvals))))
    return Experiment(kind, X, R, target, std, seed)


def baseline_samples(model: str, X, n: int, seed: int = 0, T: int = 200, beta_min: float = 1e-4,
                     beta_max: float = 0.05) -> np.ndarray:
    """Samples of a generator whose law needs no training: ``"linear"`` or ``"empirical"``.

    ``"linear"``: the converged linear DDPM, exact Gaussian
    :func:`lindiff.ddpm.sampling_distribution` (``center=True``), sampled with
    ``numpy.random.default_rng(seed)``. ``"empirical"``: the sampler driven by the
    exact empirical denoiser, :func:`lindiff.empirical.empirical_ddpm_samples`
    with the same generator: the perfect copier.
    """
    from . import empirical

    X = as_data_matrix(X, "X", min_rows=2)
    n = as_int(n, "n", minimum=1)
    rng = np.random.default_rng(as_int(seed, "seed", minimum=0))
    if model == "linear":
        return ddpm.sampling_distribution(X, T=T, beta_min=beta_min, beta_max=beta_max).sample(n, rng)
    if model == "empirical":
        return empirical.empirical_ddpm_samples(X, n, rng, T=T, beta_min=beta_min, beta_max=beta_max)
    raise ValueError(f"model must be 'linear' or 'empirical', got {model!r}")


def author_training_set(X):
    """The first ``floor(0.9 N)`` rows: the author's script trains on 90 % of the points."""
    X = as_data_matrix(X, "X", min_rows=2)
    return X[: max(2, int(AUTHOR_PROTOCOL["train_fraction"] * X.shape[0]))]


def train_protocol(X, protocol: str, seed: int = 0, steps: int = 2000, checkpoints=(), width: int | None = None,
                   settings: dict | None = None):
    """Train the chapter's MLP on ``X`` under ``protocol``.

    ``"steps"``: ``steps`` optimizer steps at the chapter's learning rate,
    whatever ``N``. ``"epochs"``: the author's protocol, :data:`AUTHOR_PROTOCOL`
    on :func:`author_training_set` (``steps`` is then ignored, and training
    time grows with ``N``). Returns what :func:`train_denoiser` returns, and the
    rows actually trained on.
    """
    s = dict(SETTINGS, **(settings or {}))
    common = dict(arch="mlp", T=s["T"], beta_min=s["beta_min"], beta_max=s["beta_max"], depth=s["depth"],
                  width=s["width"] if width is None else width, seed=seed)
    if protocol == "steps":
        return train_denoiser(X, steps=steps, batch_size=s["batch_size"], learning_rate=s["learning_rate"],
                              checkpoints=checkpoints, **common), np.asarray(X, dtype=float)
    if protocol == "epochs":
        Xa = author_training_set(X)
        a = AUTHOR_PROTOCOL
        k = epoch_steps(Xa.shape[0], a["epochs"], a["batch_size"])
        return train_denoiser(Xa, steps=k, batch_size=a["batch_size"], learning_rate=a["learning_rate"],
                              **common), Xa
    raise ValueError(f"protocol must be 'steps' or 'epochs', got {protocol!r}")


# --------------------------------------------------------------------------- the paper-scale runner
RESULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "book", "data",
                       "neural_results.json")


class _Progress:
    """A one-line progress bar on stderr (no dependency): ``[#####.....] 12/40  label  1m05s``."""

    def __init__(self, total: int, stream=None, width: int = 30):
        import sys
        import time

        self.total, self.done, self.width = max(1, total), 0, width
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self._time = time.perf_counter

    def step(self, label: str):
        self.done += 1
        filled = int(self.width * self.done / self.total)
        elapsed = self._time() - self.t0
        eta = elapsed / self.done * (self.total - self.done)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                          f"{label:<40s} {elapsed / 60:4.1f} min, ~{eta / 60:4.1f} min left ")
        self.stream.flush()

    def close(self):
        self.stream.write("\n")
        self.stream.flush()


def _rounded(x, digits=6):
    if isinstance(x, float):
        return x if not math.isfinite(x) else float(f"{x:.{digits}g}")
    return x


def record(exp: Experiment, model: str, protocol: str, samples, trained_on, steps=None, width=None, loss=None,
           ref_excess=None) -> dict:
    """One row of the results file: the :func:`measures` of ``samples``, labeled.

    ``model`` is ``"mlp"``, ``"linear"`` or ``"empirical"``; ``protocol`` is
    ``"steps"``, ``"epochs"`` or ``"exact"`` (no training); ``trained_on`` are
    the rows the generator was trained on. Floats are rounded to six
    significant digits, as in the file, so that a chapter's own run can be
    compared with the file entry by entry.
    """
    row = {"data": exp.kind, "model": model, "protocol": protocol, "N": exp.N, "seed": exp.seed}
    if steps is not None:
        row.update(steps=int(steps), width=int(width), loss=_rounded(float(loss)))
    m = measures(samples, trained_on, exp.held_out, exp.target, exp.std, ref_excess)
    row.update({k: _rounded(v) for k, v in m.items()})
    return row


def run_experiments(seeds=(0, 1, 2), n_over_d=N_OVER_D, checkpoints=(500, 2000, 8000), widths=(64, 256),
                    capacity_n=(16, 64, 256), power_law_n=(32, 256), data_kinds=("gaussian", "patches"),
                    repetitions: int = 0, frames: int = 5, settings: dict | None = None, progress: bool = True):
    """The chapter's experiments at full scale; returns the dict written to the results file.

    For each data set in ``data_kinds``, each ``N = r d`` (``r`` in ``n_over_d``)
    and each seed: the linear DDPM and the exact empirical denoiser, the MLP
    under the fixed-steps protocol (measured at every checkpoint) and under
    the author's fixed-epochs protocol. Then the MLP at other ``widths`` on
    Gaussian data for ``capacity_n`` (seed 0), the sampled variance per
    eigen-direction on power-law data (``k = 1``) for ``power_law_n``, and, with
    ``repetitions > 0``, that many extra seeds of the author's protocol (his
    script repeats it 500 times). ``frames`` samples per (data, N, checkpoint)
    of seed 0 are kept for the chapter's explorable figure.
    """
    import platform
    import time

    s = dict(SETTINGS, **(settings or {}))
    d, n = s["d"], s["n_samples"]
    sched = dict(T=s["T"], beta_min=s["beta_min"], beta_max=s["beta_max"])
    ns = [max(2, int(round(r * d))) for r in n_over_d]
    checkpoints = tuple(sorted(set(checkpoints)))
    total = (len(data_kinds) * len(ns) * len(seeds) + len(widths) * len(capacity_n) + len(power_law_n) * len(seeds)
             + len(ns) * repetitions)
    bar = _Progress(total) if progress else None
    records, variances, frame_rows = [], [], []
    t_start = time.perf_counter()
    cpu_start = time.process_time()
    train_steps = 0

    def tick(label):
        if bar:
            bar.step(label)

    for kind in data_kinds:
        for N in ns:
            for seed in seeds:
                exp = experiment(kind, N, seed, d, s["reference_size"])
                x_ref = log_self_overlap_excess(exp.held_out, exp.std)
                for model in ("linear", "empirical"):
                    S = baseline_samples(model, exp.X, n, seed, **sched)
                    records.append(record(exp, model, "exact", S, exp.X, ref_excess=x_ref))
                runs, Xs = train_protocol(exp.X, "steps", seed, checkpoints[-1], checkpoints, settings=s)
                train_steps += checkpoints[-1]
                for net in runs:
                    S = net.sample(n, seed)
                    records.append(record(exp, "mlp", "steps", S, Xs, net.steps, net.width, net.loss_history[-1],
                                           x_ref))
                    if seed == seeds[0] and frames:
                        idx = nearest_neighbor_ratios(S[:frames], Xs)[3]
                        frame_rows.append({"data": kind, "N": N, "steps": net.steps,
                                           "samples": np.round(S[:frames], 3).tolist(),
                                           "nearest": [int(i) for i in idx]})
                net, Xa = train_protocol(exp.X, "epochs", seed, settings=s)
                train_steps += net.steps
                records.append(record(exp, "mlp", "epochs", net.sample(n, seed), Xa, net.steps, net.width,
                                       net.loss_history[-1], x_ref))
                tick(f"{kind} N={N} seed={seed}")
    for width in widths:
        for N in capacity_n:
            exp = experiment("gaussian", N, seeds[0], d, s["reference_size"])
            x_ref = log_self_overlap_excess(exp.held_out, exp.std)
            runs, Xs = train_protocol(exp.X, "steps", seeds[0], checkpoints[-1], checkpoints, width=width, settings=s)
            train_steps += checkpoints[-1]
            for net in runs:
                records.append(record(exp, "mlp", "steps", net.sample(n, seeds[0]), Xs, net.steps, width,
                                       net.loss_history[-1], x_ref))
            tick(f"width {width} N={N}")
    for N in power_law_n:
        for seed in seeds:
            exp = experiment("power_law", N, seed, d, s["reference_size"])
            p = ddpm.sampling_distribution(exp.X, **sched)
            row = {"N": N, "seed": seed, "target": np.diag(exp.target.cov).round(6).tolist(),
                   "linear_exact": np.round(np.diag(p.cov), 6).tolist(),
                   "empirical": np.round(direction_variances(baseline_samples("empirical", exp.X, n, seed, **sched),
                                                             np.eye(d)), 6).tolist()}
            runs, _ = train_protocol(exp.X, "steps", seed, checkpoints[-1], checkpoints, settings=s)
            train_steps += checkpoints[-1]
            for net in runs:
                row[f"mlp_{net.steps}"] = np.round(direction_variances(net.sample(n, seed), np.eye(d)), 6).tolist()
            variances.append(row)
            tick(f"power law N={N} seed={seed}")
    for r in range(repetitions):
        seed = max(seeds) + 1 + r
        for N in ns:
            exp = experiment("gaussian", N, seed, d, s["reference_size"])
            net, Xa = train_protocol(exp.X, "epochs", seed, settings=s)
            train_steps += net.steps
            records.append(record(exp, "mlp", "epochs", net.sample(n, seed), Xa, net.steps, net.width,
                                   net.loss_history[-1]))
            tick(f"author's protocol, repetition {r + 1} N={N}")
    if bar:
        bar.close()
    return {
        "command": "python -m lindiff.neural",
        "settings": s, "author_protocol": AUTHOR_PROTOCOL,
        "seeds": list(seeds), "n_values": ns, "checkpoints": list(checkpoints), "widths": list(widths),
        "capacity_n": list(capacity_n), "power_law_n": list(power_law_n), "repetitions": repetitions,
        "records": records, "direction_variances": variances, "frames": frame_rows,
        "run": {"date": time.strftime("%Y-%m-%d"), "wall_seconds": round(time.perf_counter() - t_start, 1),
                "cpu_seconds": round(time.process_time() - cpu_start, 1), "training_steps": train_steps,
                "python": platform.python_version(), "jax": jax.__version__, "optax": optax.__version__,
                "cpus": os.cpu_count(), "xla_flags": os.environ.get("XLA_FLAGS", "")},
    }


def main(argv=None):
    """``python -m lindiff.neural``: the paper-scale experiments, written to a JSON file."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m lindiff.neural", description=main.__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="training sets per N (default 3)")
    parser.add_argument("--steps", type=int, nargs="+", default=[500, 2000, 8000],
                        help="checkpoints of the fixed-steps protocol; the largest is the training length")
    parser.add_argument("--widths", type=int, nargs="*", default=[64, 256], help="extra MLP widths (capacity)")
    parser.add_argument("--repetitions", type=int, default=0,
                        help="extra repetitions of the author's protocol (his script uses 500)")
    parser.add_argument("--out", default=RESULTS, help=f"results file (default {RESULTS})")
    parser.add_argument("--quick", action="store_true", help="tiny run (smoke test): 2 sizes, 1 seed, 20 steps")
    parser.add_argument("--cache", default=None, help="JAX compilation cache folder")
    args = parser.parse_args(argv)
    if args.cache:
        compilation_cache(args.cache)
    if args.quick:
        result = run_experiments(seeds=(0,), n_over_d=(0.25, 1.0), checkpoints=(10, 20), widths=(16,),
                                 capacity_n=(16,), power_law_n=(16,), data_kinds=("gaussian",), frames=2,
                                 settings={"d": 16, "T": 20, "n_samples": 40, "reference_size": 50, "width": 32,
                                           "depth": 1, "batch_size": 16})
    else:
        result = run_experiments(seeds=tuple(range(args.seeds)), checkpoints=tuple(args.steps),
                                 widths=tuple(args.widths), repetitions=args.repetitions)
    result["command"] = "python -m lindiff.neural " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    with open(args.out, "w") as fh:
        json.dump(result, fh, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {args.out}: {len(result['records'])} records in {result['run']['wall_seconds']} s "
          f"({result['run']['cpu_seconds']} s CPU)")
    return result


if __name__ == "__main__":  # pragma: no cover
    main()
