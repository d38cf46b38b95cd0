"""Every public function rejects a non-finite or wrong-typed argument, naming the parameter.

For each public function of the theory modules, a valid call is assembled from
the good values below; then each numeric parameter in turn is replaced by
``nan`` (and each integer parameter by ``2.5``), and the call must raise
``ValueError`` or ``TypeError`` whose message names that parameter. A
parameter with no entry is left at its default. The per-module tests check the
accepted ranges in detail; this sweep guards the whole surface at once.
"""

import inspect
import math

import numpy as np
import pytest

from lindiff import ddpm, gaussian, measures, memorization, onestep, steps, wishart

RNG_SEED = 0


def good_values():
    rng = np.random.default_rng(RNG_SEED)
    X = 1.0 + rng.normal(size=(12, 4))
    p = gaussian.Gaussian(np.zeros(4), np.eye(4))
    fit = ddpm.empirical_spectrum(X)
    _, abar = ddpm.linear_schedule(50)
    target = ddpm.power_law_target(4, 1.0)
    common = dict(X=X, T=1.0, noise_scale=0.5, target_mean=1.0, target_std=1.0, d=4, n=12, N=12, gamma=0.5,
                  p=p, q=p, points=X, train=X, reference=X + 0.1, std=1.0, bandwidth=0.5, k=1.0,
                  lam=np.linspace(0.0, 2.0, 4), v=1.0, steps=3, reps=2, ns=[6, 12], dof=6, size=2,
                  sigma=1.0, ridge=0.1, train_time=2.0, fit=fit, target=target, alpha_bars=abar,
                  eigvals=fit.eigvals, weights=ddpm.minimizer_weights(fit.eigvals, abar), chunk=8,
                  noise_scales=[0.1, 1.0], c=np.array([0.5, 1.0]), ratio=0.5, x=np.array([0.5, 2.0]),
                  repetitions=2, seed=0, repetition=0, mean=1.0, variance=0.5, centers=X,
                  lr=0.05, beta_min=1e-4, beta_max=1e-2, alpha_bar_T=0.01, statistic=np.array([-1.0, 0.5, 1.0]),
                  threshold=0.0, n_values=[6, 12], reference_size=20, samples=p, spectrum=np.ones(4))
    per_module = {
        "ddpm": dict(T=50, d=4, N=12, spectrum=ddpm.power_law_spectrum(4, 1.0)),
        "measures": dict(samples=X + 0.2, fresh=X - 0.3, target=p, n_neighbors=2),
    }
    return common, per_module


def public_functions():
    for mod in (gaussian, onestep, memorization, measures, ddpm, steps, wishart):
        for name in mod.__all__:
            f = getattr(mod, name)
            if inspect.isfunction(f):
                yield mod, name, f


CASES = []
for _mod, _name, _f in public_functions():
    for _param in inspect.signature(_f).parameters.values():
        CASES.append((_mod.__name__.split(".")[-1], _name, _param.name))


@pytest.mark.parametrize("module, func, param", CASES, ids=[f"{m}.{f}:{p}" for m, f, p in CASES])
def test_bad_argument_is_rejected_with_its_name(module, func, param):
    common, per_module = good_values()
    values = dict(common, **per_module.get(module, {}))
    f = getattr(globals()[module], func)
    sig = inspect.signature(f)
    kwargs = {}
    for prm in sig.parameters.values():
        if prm.name in values:
            kwargs[prm.name] = values[prm.name]
        elif prm.default is inspect.Parameter.empty:
            pytest.skip(f"no good value registered for required parameter {prm.name!r}")
    if param not in kwargs:
        pytest.skip(f"{param!r} left at its default")
    good = kwargs[param]
    if isinstance(good, bool) or not isinstance(good, (int, float, np.ndarray)):
        pytest.skip(f"{param!r} is not numeric")
    try:
        f(**kwargs)  # the assembled call must be valid
    except (ValueError, TypeError) as exc:
        pytest.skip(f"the assembled call is not valid for this function: {exc}")
    bad = 2.5 if isinstance(good, (int, np.integer)) else (np.full_like(good, np.nan, dtype=float)
                                                              if isinstance(good, np.ndarray) else math.nan)
    kwargs[param] = bad
    with pytest.raises((ValueError, TypeError)) as info:
        f(**kwargs)
    assert param in str(info.value), f"{func}({param}=...) raised without naming {param!r}: {info.value}"
