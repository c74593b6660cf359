"""Automatic stage score ranges (DESIGN §7.2), shared by the assigner and the admin API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from shared.vocabulary import StageType

# The score band of each stage category; ARCHIVED keeps the whole scale and is not split.
BANDS: dict[str, tuple[int, int]] = {
    StageType.LEAD: (0, 30),
    StageType.IN_PROGRESS: (31, 80),
    StageType.WON: (81, 100),
    StageType.LOST: (0, 20),
    StageType.ARCHIVED: (0, 100),
}
DEFAULT_RANGE = (0, 100)


def capacity(stage_type: str) -> int:
    """How many stages of a category the split formula can give non-empty ranges."""
    lo, hi = BANDS[stage_type]
    return hi - lo


def auto_ranges(types: Sequence[str]) -> list[tuple[int, int]]:
    """The (min, max) of each stage, given the stage types in position order.

    The k stages of a category split its band [lo, hi]: stage i ends at
    lo + floor((hi - lo)·(i + 1)/k) and starts one after the previous end.
    Raises ValueError when a category has more stages than its band can split.
    """
    counts = Counter(types)
    for stage_type, k in counts.items():
        if stage_type != StageType.ARCHIVED and k > capacity(stage_type):
            lo, hi = BANDS[stage_type]
            raise ValueError(
                f"{k} {stage_type} stages cannot split the band {lo}-{hi}; use at most {capacity(stage_type)}"
            )
    seen: Counter[str] = Counter()
    ranges = []
    for stage_type in types:
        lo, hi = BANDS[stage_type]
        if stage_type == StageType.ARCHIVED:
            ranges.append((lo, hi))
            continue
        i, k = seen[stage_type], counts[stage_type]
        seen[stage_type] += 1
        start = lo if i == 0 else lo + (hi - lo) * i // k + 1
        ranges.append((start, lo + (hi - lo) * (i + 1) // k))
    return ranges


def all_default(ranges: Sequence[tuple[int, int]]) -> bool:
    """True while no stage range was set: the cue for automatic ranges."""
    return all(r == DEFAULT_RANGE for r in ranges)
