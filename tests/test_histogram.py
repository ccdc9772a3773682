"""Bounded statistics: the histogram's percentiles against numpy's, and NodeStats stays bounded."""

import sys

import numpy as np
import pytest
from wavegraph.pipeline.executor import NodeStats
from wavegraph.pipeline.histogram import Histogram


@pytest.mark.parametrize("dist", ["lognormal", "uniform", "bimodal", "integers"])
def test_percentiles_within_stated_relative_error(dist):
    rng = np.random.default_rng(7)
    values = {
        "lognormal": rng.lognormal(11, 1.5, 50_000),  # ~ 60 us with a long tail, in ns
        "uniform": rng.uniform(1e3, 1e7, 20_000),
        "bimodal": np.concatenate([rng.normal(2e4, 1e3, 9_000), rng.normal(5e6, 1e5, 1_000)]),
        "integers": rng.integers(1, 50, 5_000).astype(float),
    }[dist]
    h = Histogram(rel_error=0.01)
    for v in values:
        h.record(v)
    assert len(h) == values.size
    for q in (0, 1, 10, 50, 90, 99, 99.9, 100):
        want = np.percentile(values, q, method="lower")
        assert abs(h.percentile(q) - want) <= 0.01 * want * (1 + 1e-9), (q, h.percentile(q), want)


def test_coarser_precision_and_edges():
    h = Histogram(rel_error=0.05)
    for v in (0, 0.5, 1, 1e20):  # below 1 reports 0; beyond the top bucket is clamped, not lost
        h.record(v)
    assert h.percentile(0) == 0.0 and h.percentile(100) > 1e16 and len(h) == 4
    with pytest.raises(ValueError):
        Histogram(rel_error=0.7)
    with pytest.raises(ValueError):
        Histogram().percentile(50)
    assert Histogram().percentiles(50, 99) == []


def test_merge_equals_recording_all():
    rng = np.random.default_rng(1)
    a, b, both = Histogram(), Histogram(), Histogram()
    for i, v in enumerate(rng.lognormal(10, 1, 4000)):
        (a if i % 2 else b).record(v)
        both.record(v)
    a.merge(b)
    assert a.counts == both.counts and a.n == both.n


def test_node_stats_memory_does_not_grow_with_chunks():
    st = NodeStats()
    assert isinstance(st.compute_ns, Histogram) and isinstance(st.latency_ns, Histogram)
    for i in range(1000):
        st.compute_ns.record(1000 + i)
    size_1k = sys.getsizeof(st.compute_ns.counts)
    for i in range(200_000):
        st.compute_ns.record(1000 + i)
        st.latency_ns.record(1e6 + i)
    assert sys.getsizeof(st.compute_ns.counts) == size_1k
    d = st.to_dict()
    assert len(d["compute_ns"]) == 2 and len(d["latency_ns"]) == 2
    exact = np.concatenate([np.arange(1000, 2000, dtype=float), np.arange(1000, 201_000, dtype=float)])
    assert d["compute_ns"][0] == pytest.approx(np.percentile(exact, 50, method="lower"), rel=0.01)
    back = NodeStats.from_dict(d)
    assert back.to_dict() == d
