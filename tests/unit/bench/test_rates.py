"""The analyzer bench's sustained rate equals C/L for an ideal pipeline (the old formula overstated it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[3] / "bench" / "rates.py"
_SPEC = importlib.util.spec_from_file_location("bench_rates", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
rates = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(rates)


def waves(count: int, concurrency: int, latency: float) -> list[float]:
    """Arrival times of an ideal pipeline: C results land together every L seconds (whole waves)."""
    return [latency * (1 + i // concurrency) for i in range(count)]


@pytest.mark.parametrize(
    ("count", "concurrency", "latency"), [(1200, 16, 0.4), (1280, 32, 0.4), (640, 16, 1.0)]
)
def test_sustained_rate_of_an_ideal_pipeline_is_c_over_l(
    count: int, concurrency: int, latency: float
) -> None:
    measured = rates.sustained(waves(count, concurrency, latency), concurrency)
    assert measured == pytest.approx(concurrency / latency)


def test_the_old_formula_overstated_by_the_first_wave() -> None:
    arrivals = waves(1280, 32, 0.4)
    old = (len(arrivals) - 1) / (max(arrivals) - min(arrivals))
    assert old / rates.sustained(arrivals, 32) == pytest.approx(1279 / 1248)


def test_too_few_arrivals_are_refused() -> None:
    with pytest.raises(ValueError, match="more than 16"):
        rates.sustained(waves(16, 16, 0.4), 16)


def test_end_to_end_counts_the_whole_run() -> None:
    assert rates.end_to_end(1200, 40.0) == 30.0
