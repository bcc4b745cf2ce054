"""Latency summaries: nearest-rank percentiles and the figures one phase of a run reports."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..100) of unsorted values; NaN for no values.

    Nearest rank, not interpolation: every figure reported is a latency that was really measured.
    """
    if not 0 <= share <= 100:
        raise ValueError(f"percentile share must be within 0..100, got {share}")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    """One phase: how many requests, how many failed, latency percentiles (ms) and throughput."""

    count: int
    failed: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    per_second: float

    def as_dict(self) -> dict[str, Any]:
        return {
            key: (None if isinstance(value, float) and math.isnan(value) else value)
            for key, value in asdict(self).items()
        }


def summarize(latencies_s: Sequence[float], *, failed: int, wall_s: float) -> Summary:
    """Summarise successful request latencies (seconds) measured over `wall_s` seconds of wall-clock time."""
    in_ms = [value * 1000 for value in latencies_s]
    return Summary(
        count=len(in_ms),
        failed=failed,
        p50_ms=percentile(in_ms, 50),
        p95_ms=percentile(in_ms, 95),
        p99_ms=percentile(in_ms, 99),
        max_ms=max(in_ms) if in_ms else math.nan,
        per_second=len(in_ms) / wall_s if wall_s > 0 else math.nan,
    )
