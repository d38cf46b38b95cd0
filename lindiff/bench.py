"""Benchmarks: what every figure costs, against the obvious alternatives.

Run ``make bench`` (or ``python -m lindiff.bench``). Each comparison prints one
line ::

    BENCH <name> ours=<seconds> baseline=<seconds> ratio=<baseline/ours>

timed with ``time.perf_counter`` over repeated runs (median), and the last line
is a summary. The run is also recorded in ``book/data/benchmarks.json``, which
the appendix "Reproducing this book" (``book/reproducing.md``) shows.
``--quick`` runs every comparison at tiny sizes (the smoke test of
``tests/test_bench.py``). ``--widgets [PAGE ...]`` times only the live widgets
of the given pages (all pages without names) and replaces the widget rows of
the record.

The comparisons:

1. ``ddpm-sampling``: :func:`lindiff.ddpm.sampling_distribution` (eigenbasis,
   ``O(d³ + T d)``) against propagating the mean and covariance of the sampler
   through the ``T`` reverse steps with dense ``d × d`` algebra (``O(T d³)``).
2. ``kl-vs-montecarlo``: the one-step KL by the eigenvalue formula against a
   Monte-Carlo estimate from samples of the same model, run until its 95 %
   interval is within 1 % of the estimate.
3. ``memorization-loop``: :func:`lindiff.memorization.memorization_statistic`
   against a per-point loop over the reference set (same result to 1e-8).
4. ``kl-sweep-vs-eigh``: the expected-KL-against-N sweep of the one-step
   chapter (:func:`lindiff.onestep.kl_samples`, exact sampling through the
   bidiagonal Wishart model), against only the symmetric eigendecompositions
   that the same sweep on explicit data needs; ratio = eigh time / sweep time.
5. ``book-execution``: execution time of every page as in a forced build,
   against the 120 s budget; one more line per chapter.
6. ``widget-update-<chapter>``: median CPU time of one update of the
   chapter's live widget, against the 0.1 s budget, over slider moves from the
   default parameters to every other live value of each control
   (:func:`lindiff.widgets.time_registered`), each the first call at its
   values. The row also records the median wall time and, once the plotting
   function's caches are warm, the same moves through the live renderer and
   drawn the obvious way, every figure redrawn in full (``fig.savefig``), as
   the live widget did before it kept unchanged axes.
   CPU time is the budget's clock because a shared machine inflates wall
   time with other processes' work.
7. ``neural-training``: optimizer steps of the chapter's MLP
   (:mod:`lindiff.neural`) in one compiled ``fori_loop``, against a Python
   loop over a compiled single step; the note gives steps per second.
8. ``neural-sampling``: the ancestral sampler compiled as one ``lax.scan``
   over the ``T`` steps, against a Python loop over a compiled single step;
   the note gives samples per second.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "book" / "data" / "benchmarks.json"

#: Targets of the issue: minimum ratio per comparison (prefix match).
TARGETS = {
    "ddpm-sampling": 100.0,
    "memorization-loop": 10.0,
    "kl-sweep-vs-eigh": 0.6,
    "book-execution": 1.0,
    "widget-update": 1.0,
}


def median_time(fn, repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class Report:
    """Collects and prints ``BENCH`` lines."""

    def __init__(self):
        self.rows = []

    def add(self, name, ours, baseline, note="", **extra):
        ratio = baseline / ours if ours > 0 else math.inf
        self.rows.append({"name": name, "ours": ours, "baseline": baseline, "ratio": ratio, "note": note, **extra})
        print(f"BENCH {name} ours={ours:.6g} baseline={baseline:.6g} ratio={ratio:.4g}", flush=True)
        if note:
            print(f"  # {note}", file=sys.stderr, flush=True)

    def target_of(self, name):
        for prefix, target in TARGETS.items():
            if name.startswith(prefix):
                return target
        return None


# --------------------------------------------------------------------------- 1
def dense_ddpm_sampling(X, T=1000, beta_min=1e-4, beta_max=1e-2):
    """Mean and covariance of the linear-DDPM samples by dense propagation (``O(T d³)``).

    The obvious implementation: at every step form the minimizer
    ``W_t = sqrt(1−ᾱ_t) (ᾱ_t S + (1−ᾱ_t) I)⁻¹`` (a dense solve), the step
    matrix ``A_t`` and push ``(m, C) → (A m + c, A C Aᵀ + β_t I)``.
    """
    from . import ddpm

    n, d = X.shape
    betas, abar = ddpm.linear_schedule(T, beta_min, beta_max)
    xbar = X.mean(0)
    C = (X - xbar).T @ (X - xbar) / n
    eye = np.eye(d)
    m, S = np.zeros(d), eye.copy()
    for t in range(T - 1, -1, -1):
        b, ab = betas[t], abar[t]
        W = math.sqrt(1 - ab) * np.linalg.solve(ab * C + (1 - ab) * eye, eye)
        bias = -math.sqrt(ab) * W @ xbar
        A = (eye - b / math.sqrt(1 - ab) * W) / math.sqrt(1 - b)
        m = A @ m - b / (math.sqrt(1 - ab) * math.sqrt(1 - b)) * bias
        S = A @ S @ A.T + b * eye
    return m, S


def bench_ddpm_sampling(report, d, T, repeat_ours, repeat_base):
    from . import ddpm

    rng = np.random.default_rng(0)
    X = rng.standard_normal((2 * d, d)) * np.sqrt(ddpm.power_law_spectrum(d, 1.0))
    ours = median_time(lambda: ddpm.sampling_distribution(X, T=T), repeat_ours)
    base = median_time(lambda: dense_ddpm_sampling(X, T=T), repeat_base)
    p = ddpm.sampling_distribution(X, T=T)
    m, S = dense_ddpm_sampling(X, T=T)
    err = max(np.max(np.abs(p.cov - S)) / np.max(np.abs(S)), np.max(np.abs(p.mean - m)))
    report.add("ddpm-sampling", ours, base, f"d={d} T={T}; max relative difference {err:.2e}")
    return err


# --------------------------------------------------------------------------- 2
def bench_kl_montecarlo(report, d, repeat):
    from . import onestep

    T, ell = 2.0, math.exp(-4)
    rng = np.random.default_rng(1)
    X = 10 + rng.standard_normal((3 * d, d))
    exact = onestep.kl_to_target(X, T, ell, 10.0, 1.0)
    ours = median_time(lambda: onestep.kl_to_target(X, T, ell, 10.0, 1.0), repeat)
    p = onestep.generated_distribution(X, T, ell)

    def log_ratio(x):
        y = (x - p.mean) @ p.eigvecs
        logp = -0.5 * (np.sum(y * y / p.eigvals, axis=1) + np.sum(np.log(p.eigvals)))
        logq = -0.5 * np.sum((x - 10.0) ** 2, axis=1)
        return logp - logq

    # pilot run: how many samples does a 1 % (95 %) interval need?
    pilot = log_ratio(p.sample(4000, rng))
    n = int(math.ceil((1.96 * pilot.std() / (0.01 * pilot.mean())) ** 2))
    holder = {}

    def monte_carlo():
        vals = log_ratio(p.sample(n, np.random.default_rng(2)))
        holder["est"], holder["half"] = vals.mean(), 1.96 * vals.std() / math.sqrt(n)

    base = median_time(monte_carlo, repeat)
    acc = holder["half"] / holder["est"]
    err = abs(holder["est"] - exact) / exact
    report.add("kl-vs-montecarlo", ours, base,
               f"d={d}: {n} samples for a 95% half-width of {100 * acc:.2f}%; MC error vs exact {100 * err:.2f}%")
    return acc, err


# --------------------------------------------------------------------------- 3
def per_point_statistic(p, train, reference, std):
    """The memorization statistic with an explicit loop over points (the baseline)."""
    from scipy.linalg import cho_factor, cho_solve

    from . import memorization

    d = p.dim

    def log_overlap(points):
        eps2 = memorization.kernel_bandwidth(len(points), d, std) ** 2
        C = p.cov + eps2 * np.eye(d)
        factor = cho_factor(C)
        logdet = 2 * np.sum(np.log(np.diag(factor[0])))
        vals = []
        for x in points:
            r = x - p.mean
            vals.append(-0.5 * (r @ cho_solve(factor, r) + d * math.log(2 * math.pi) + logdet))
        top = max(vals)
        return top + math.log(sum(math.exp(v - top) for v in vals)) - math.log(len(points))

    return log_overlap(train) - log_overlap(reference)


def bench_memorization(report, d, n_ref, repeat):
    from . import memorization, onestep

    rng = np.random.default_rng(3)
    X = 10 + rng.standard_normal((d // 2, d))
    ref = 10 + rng.standard_normal((n_ref, d))
    p = onestep.generated_distribution(X, 2.0, math.exp(-4))
    ours = median_time(lambda: memorization.memorization_statistic(p, X, ref, 1.0), repeat)
    base = median_time(lambda: per_point_statistic(p, X, ref, 1.0), max(1, repeat // 3))
    diff = abs(memorization.memorization_statistic(p, X, ref, 1.0) - per_point_statistic(p, X, ref, 1.0))
    report.add("memorization-loop", ours, base, f"d={d}, reference {n_ref}; |difference| = {diff:.1e}")
    return diff


# --------------------------------------------------------------------------- 4
def kl_sweep(d, n_values, reps, rng, T=2.0, ell=math.exp(-4)):
    """The expected-KL-against-N sweep of chapter ``onestep_kl``: mean over ``reps`` sets per N."""
    from . import onestep

    return onestep.kl_samples(d, n_values, T, ell, 1.0, reps, rng).mean(axis=1)


def bench_kl_sweep(report, d, n_points, reps, repeat):
    n_values = np.unique(np.geomspace(d + 1, 100 * d, n_points).astype(int))
    rng = np.random.default_rng(4)
    ours = median_time(lambda: kl_sweep(d, n_values, reps, rng), repeat)
    # the same sweep on explicit data needs one symmetric eigendecomposition per
    # training set: time only those (matrices prepared beforehand)
    mats = []
    for n in n_values:
        for _ in range(reps):
            Z = rng.standard_normal((d + 1, d))
            mats.append(Z.T @ Z / n)
    eigh_time = median_time(lambda: [np.linalg.eigvalsh(S) for S in mats], repeat)
    report.add("kl-sweep-vs-eigh", ours, eigh_time,
               f"d={d}, {len(n_values)} values of N from {n_values[0]} to {n_values[-1]}, {reps} data sets each")


# --------------------------------------------------------------------------- 5, 6
def toc_pages():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]
    return [p for p in pages if (ROOT / f"{p}.md").read_text().startswith("---")]


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

TIMING_CELL = """
import json as _json
from lindiff import widgets as _lw
print("LINDIFF-WIDGET-TIMES " + _json.dumps(_lw.time_registered(repeat=%d, full_redraw=True)))
"""


def execute_page(page: str, widget_repeat: int, static: bool = True):
    """Execute a page as the forced site build does; return (seconds, widget timings).

    ``static=False`` executes it as in a kernel (live widgets, no precomputed
    frames), which is quicker when only the widgets are timed.
    """
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.read(ROOT / f"{page}.md")
    # the kernel inherits this environment: static or live widgets, and one BLAS thread as under
    # `make` (the Makefile exports the same defaults). With threaded BLAS the CPU time of an update
    # counts idle spinning threads: measured 103 ms CPU for 78 ms wall on two cores.
    settings = {"LINDIFF_STATIC_WIDGETS": "1" if static else "0"}
    settings.update({k: os.environ.get(k, "1") for k in BLAS_THREAD_VARIABLES})
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    try:
        client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(ROOT / "book")}})
        t0 = time.perf_counter()
        with client.setup_kernel():
            for i, cell in enumerate(nb.cells):
                client.execute_cell(cell, i)
            elapsed = time.perf_counter() - t0
            extra = nbformat.v4.new_code_cell(TIMING_CELL % widget_repeat)
            nb.cells.append(extra)
            client.execute_cell(extra, len(nb.cells) - 1)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    timings = []
    for out in extra.get("outputs", []):
        for line in out.get("text", "").splitlines():
            if line.startswith("LINDIFF-WIDGET-TIMES "):
                timings = json.loads(line.split(" ", 1)[1])
    return elapsed, timings


def add_widget_rows(report, widgets, budget=0.1):
    """One ``widget-update-<page>`` row per explorer (CPU time; wall time and full redraws in the row)."""
    for page, timings in widgets.items():
        for k, t in enumerate(timings):
            suffix = "" if len(timings) == 1 else f"-{k + 1}"
            report.add(f"widget-update-{Path(page).name}{suffix}", t["median_cpu_s"], budget,
                       f"{t['plot']}: {t['updates']} slider moves, {t['reused']} with every axes kept, "
                       f"{t['partial']} with some; wall {1e3 * t['median_s']:.0f} ms; with warm caches "
                       f"{1e3 * t['warm_cpu_s']:.0f} ms CPU, redrawn in full {1e3 * t['full_redraw_cpu_s']:.0f} ms "
                       f"CPU ({1e3 * t['full_redraw_s']:.0f} ms wall)",
                       wall=t["median_s"], cpu=t["median_cpu_s"], warm_cpu=t["warm_cpu_s"], warm_wall=t["warm_s"],
                       full_redraw_cpu=t["full_redraw_cpu_s"], full_redraw_wall=t["full_redraw_s"], plot=t["plot"],
                       updates=t["updates"])


def bench_book(report, pages, widget_repeat, budget=120.0):
    per_page, widgets = {}, {}
    for page in pages:
        seconds, timings = execute_page(page, widget_repeat)
        per_page[page] = seconds
        widgets[page] = timings
    total = sum(per_page.values())
    report.add("book-execution", total, budget, f"{len(pages)} pages executed as in a forced build")
    for page, seconds in per_page.items():
        report.add(f"book-execution-{Path(page).name}", seconds, budget)
    add_widget_rows(report, widgets)
    return per_page, widgets


def bench_widgets(report, pages, widget_repeat):
    """Only the live widgets: each page executed as in a kernel, then its widgets timed."""
    widgets = {}
    for page in pages:
        seconds, timings = execute_page(page, widget_repeat, static=False)
        print(f"  # {page}: executed in {seconds:.0f} s, {len(timings)} widget(s) timed", file=sys.stderr, flush=True)
        if timings:
            widgets[page] = timings
    add_widget_rows(report, widgets)
    return widgets


# --------------------------------------------------------------------------- 7, 8
def bench_neural(report, d, N, steps, n_samples, width, depth, T, repeat):
    """Training steps per second and samples per second of :mod:`lindiff.neural` (CPU and wall time)."""
    import jax
    import jax.numpy as jnp
    import optax

    from . import neural

    X = np.random.default_rng(0).standard_normal((N, d))
    kw = dict(arch="mlp", T=T, beta_min=1e-4, beta_max=0.05, batch_size=128, learning_rate=3e-3, width=width,
              depth=depth, log_every=steps)
    neural.train_denoiser(X, steps=2, **kw)                          # compile outside the timing
    cpu0 = time.process_time()
    ours = median_time(lambda: neural.train_denoiser(X, steps=steps, **kw), repeat)
    cpu = (time.process_time() - cpu0) / repeat
    net = neural.train_denoiser(X, steps=2, **kw)
    _, sab, somab = neural._schedule32(T, 1e-4, 0.05)
    opt = optax.adam(3e-3)

    @jax.jit
    def one_step(params, state, key, data):
        k1, k2, k3 = jax.random.split(key, 3)
        x0 = data[jax.random.randint(k1, (128,), 0, data.shape[0])]
        t = jax.random.randint(k2, (128,), 1, T + 1)
        eps = jax.random.normal(k3, x0.shape)

        def loss(p):
            xt = sab[t - 1][:, None] * x0 + somab[t - 1][:, None] * eps
            return jnp.mean(jnp.sum((neural._apply("mlp", T, p, xt, t) - eps) ** 2, axis=1))

        g = jax.grad(loss)(params)
        upd, state = opt.update(g, state, params)
        return optax.apply_updates(params, upd), state

    data = jnp.asarray(X, jnp.float32)

    def python_loop():
        params, state = net.params, opt.init(net.params)
        for k in range(steps):
            params, state = one_step(params, state, jax.random.PRNGKey(k), data)
        jax.block_until_ready(params)

    python_loop()
    base = median_time(python_loop, repeat)
    report.add("neural-training", ours, base,
               f"d={d} N={N} width={width} depth={depth} batch 128: {steps / ours:.0f} steps/s wall, "
               f"{steps / max(cpu, 1e-9):.0f} steps per CPU second")

    net.sample(n_samples, seed=0)                                     # compile
    cpu0 = time.process_time()
    ours = median_time(lambda: net.sample(n_samples, seed=1), repeat)
    cpu = (time.process_time() - cpu0) / repeat
    betas, sab, somab = neural._schedule32(T, 1e-4, 0.05)

    @jax.jit
    def reverse_step(u, t, key):
        eps = neural._apply("mlp", T, net.params, u, jnp.full((u.shape[0],), t))
        beta = betas[t - 1]
        return (u - beta / somab[t - 1] * eps) / jnp.sqrt(1 - beta) + jnp.sqrt(beta) * jax.random.normal(key, u.shape)

    def python_sampler():
        u = jax.random.normal(jax.random.PRNGKey(0), (n_samples, d))
        for t in range(T, 0, -1):
            u = reverse_step(u, t, jax.random.PRNGKey(t))
        jax.block_until_ready(u)

    python_sampler()
    base = median_time(python_sampler, repeat)
    report.add("neural-sampling", ours, base,
               f"{n_samples} samples x {T} steps: {n_samples / ours:.0f} samples/s wall, "
               f"{n_samples / max(cpu, 1e-9):.0f} per CPU second")


# --------------------------------------------------------------------------- main
def page_sizes():
    html = ROOT / "_build" / "html"
    if not html.is_dir():
        return {}
    sizes = {str(p.relative_to(html)): p.stat().st_size for p in sorted((html / "book").glob("*.html"))}
    sizes["(whole site)"] = sum(p.stat().st_size for p in html.rglob("*") if p.is_file())
    return sizes


def machine():
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "numpy": np.__version__}
    try:
        import scipy

        info["scipy"] = scipy.__version__
    except ImportError:  # pragma: no cover
        pass
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                           if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, notation page only (smoke test)")
    parser.add_argument("--no-record", action="store_true", help="do not write book/data/benchmarks.json")
    parser.add_argument("--widgets", nargs="*", metavar="PAGE",
                        help="only the live widgets of these pages (e.g. book/notation; all pages if none given); "
                             "replaces the widget rows of the record")
    args = parser.parse_args(argv)
    report = Report()
    t0 = time.perf_counter()
    if args.widgets is not None:
        pages = [p.removesuffix(".md") for p in args.widgets] or toc_pages()
        bench_widgets(report, pages, widget_repeat=2 if args.quick else 7)
        elapsed = time.perf_counter() - t0
        slow = [r["name"] for r in report.rows if r["ratio"] < 1]
        print(f"SUMMARY widgets={len(report.rows)} over_budget={len(slow)} wall={elapsed:.1f}s", flush=True)
        if not args.quick and not args.no_record and RECORD.exists():
            record = json.loads(RECORD.read_text())
            names = {r["name"] for r in report.rows}
            record["rows"] = [r for r in record["rows"] if r["name"] not in names] + report.rows
            record["widgets_date"] = time.strftime("%Y-%m-%d")
            record["widgets_machine"] = machine()
            RECORD.write_text(json.dumps(record, indent=1) + "\n")
        return report
    if args.quick:
        bench_ddpm_sampling(report, d=8, T=20, repeat_ours=3, repeat_base=1)
        bench_kl_montecarlo(report, d=4, repeat=1)
        bench_memorization(report, d=6, n_ref=200, repeat=3)
        bench_kl_sweep(report, d=5, n_points=4, reps=3, repeat=1)
        bench_neural(report, d=8, N=16, steps=20, n_samples=20, width=16, depth=1, T=20, repeat=1)
        bench_book(report, ["book/notation"], widget_repeat=2)
    else:
        bench_ddpm_sampling(report, d=200, T=1000, repeat_ours=7, repeat_base=3)
        bench_kl_montecarlo(report, d=20, repeat=5)
        bench_memorization(report, d=100, n_ref=10_000, repeat=9)
        bench_kl_sweep(report, d=100, n_points=40, reps=20, repeat=3)
        bench_neural(report, d=64, N=256, steps=1000, n_samples=500, width=128, depth=3, T=200, repeat=3)
        bench_book(report, toc_pages(), widget_repeat=7)
    met = [r for r in report.rows if report.target_of(r["name"]) is not None]
    ok = [r for r in met if r["ratio"] >= report.target_of(r["name"])]
    elapsed = time.perf_counter() - t0
    print(f"SUMMARY targets_met={len(ok)}/{len(met)} comparisons={len(report.rows)} wall={elapsed:.1f}s", flush=True)
    if not args.quick and not args.no_record:
        RECORD.parent.mkdir(parents=True, exist_ok=True)
        RECORD.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d"), "machine": machine(), "rows": report.rows,
            "widgets_date": time.strftime("%Y-%m-%d"), "widgets_machine": machine(),
            "targets": TARGETS, "page_sizes": page_sizes(), "wall_seconds": elapsed,
        }, indent=1) + "\n")
    return report


if __name__ == "__main__":  # pragma: no cover
    main()
