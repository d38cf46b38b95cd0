"""Smoke test of the benchmark suite (``make bench`` is too slow for CI)."""

import re

import numpy as np
import pytest

from lindiff import bench

LINE = re.compile(r"^BENCH (\S+) ours=(\S+) baseline=(\S+) ratio=(\S+)$")


@pytest.mark.slow
def test_quick_suite_prints_every_comparison(capsys):
    report = bench.main(["--quick"])
    out = capsys.readouterr().out.strip().splitlines()
    rows = [LINE.match(line) for line in out[:-1]]
    assert all(rows), out
    names = [m.group(1) for m in rows]
    for name in ["ddpm-sampling", "kl-vs-montecarlo", "memorization-loop", "kl-sweep-vs-eigh",
                 "book-execution", "book-execution-notation", "widget-update-notation", "neural-training",
                 "neural-sampling"]:
        assert name in names
    assert out[-1].startswith("SUMMARY targets_met=")
    for m in rows:
        ours, base, ratio = map(float, m.group(2, 3, 4))
        assert ours > 0 and base > 0 and ratio == pytest.approx(base / ours, rel=1e-3)
    assert len(report.rows) == len(rows)


def test_dense_baselines_agree_with_the_closed_forms():
    from lindiff import ddpm, memorization, onestep

    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 6))
    m, S = bench.dense_ddpm_sampling(X, T=50)
    p = ddpm.sampling_distribution(X, T=50)
    np.testing.assert_allclose(S, p.cov, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(m, p.mean, atol=1e-10)
    X = 10 + rng.standard_normal((5, 8))
    ref = 10 + rng.standard_normal((300, 8))
    g = onestep.generated_distribution(X, 2.0, 0.02)
    assert bench.per_point_statistic(g, X, ref, 1.0) == pytest.approx(
        memorization.memorization_statistic(g, X, ref, 1.0), abs=1e-8)


def test_widget_rows_are_budgeted_in_cpu_time_and_keep_the_wall_time():
    report = bench.Report()
    timing = {"plot": "f", "median_s": 0.3, "median_cpu_s": 0.08, "updates": 12, "reused": 7, "partial": 3,
              "warm_s": 0.2, "warm_cpu_s": 0.06, "full_redraw_s": 0.5, "full_redraw_cpu_s": 0.15}
    bench.add_widget_rows(report, {"book/notation": [timing], "book/two": [timing, timing]})
    names = [r["name"] for r in report.rows]
    assert names == ["widget-update-notation", "widget-update-two-1", "widget-update-two-2"]
    row = report.rows[0]
    assert row["ours"] == row["cpu"] == 0.08 and row["wall"] == 0.3 and row["full_redraw_cpu"] == 0.15 and row["warm_cpu"] == 0.06
    assert row["ratio"] == pytest.approx(0.1 / 0.08) and report.target_of(row["name"]) == 1.0
    assert "12 slider moves" in row["note"]
