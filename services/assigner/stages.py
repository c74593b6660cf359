"""Where a scored contact belongs (DESIGN §7.1-7.4): pure functions of their inputs, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from shared.score_ranges import all_default, auto_ranges

StageType = Literal["LEAD", "IN_PROGRESS", "WON", "LOST", "ARCHIVED"]
Mode = Literal["SKIP_EXISTING", "UPDATE_EXISTING"]

MoveKind = Literal["into_won", "into_lost", "up", "down", "blocked", "unchanged"]

__all__ = ["Decision", "Match", "MoveKind", "Rule", "Stage", "best_stage", "blocks_downgrade",
           "move_kind", "place", "with_auto_ranges"]


@dataclass(frozen=True)
class Stage:
    id: str
    name: str
    type: StageType
    position: int
    score_min: int = 0
    score_max: int = 100


class Rule(StrEnum):
    """Which step of §7.1 chose the stage (a metric label and an activity detail)."""

    STATUS = "status"  # 1. WON/LOST status → first stage of that type
    SCORE_RANGE = "score_range"  # 2. first LEAD/IN_PROGRESS stage whose range holds the score
    NEAREST_MIDPOINT = "nearest_midpoint"  # 3. closest range midpoint, not ARCHIVED/LOST
    RECOMMENDED = "recommended_stage"  # 4. the analysis named the stage
    FIRST_STAGE = "first_stage"  # 5. the first stage that may be chosen


@dataclass(frozen=True)
class Match:
    stage: Stage
    rule: Rule


TERMINAL = ("WON", "LOST")


def best_stage(
    stages: Sequence[Stage], score: int, status: str, recommended: str = ""
) -> Match | None:
    """The stage §7.1 prescribes for (score, status); None when no stage may be chosen.

    ARCHIVED stages are never chosen: an archive accepting any score would swallow everyone.
    WON and LOST stages are chosen only by their status (rule 1): a high score alone is not a
    sale (§7.6 — a customer saying "paid" is QUALIFIED, and must not land in Won by its score).
    """
    ordered = sorted(stages, key=lambda s: s.position)
    if status in TERMINAL:
        for stage in ordered:
            if stage.type == status:
                return Match(stage, Rule.STATUS)
    for stage in ordered:
        if stage.type in ("LEAD", "IN_PROGRESS") and stage.score_min <= score <= stage.score_max:
            return Match(stage, Rule.SCORE_RANGE)
    eligible = [s for s in ordered if s.type not in ("ARCHIVED", *TERMINAL)]
    if eligible:
        # Twice the distance keeps it in integers; min() keeps the lower position on a tie.
        return Match(min(eligible, key=lambda s: abs(s.score_min + s.score_max - 2 * score)),
                     Rule.NEAREST_MIDPOINT)
    # Only WON/LOST/ARCHIVED stages remain, and the status names none of them: nothing fits.
    # (Rules 4 and 5 could only pick a terminal stage here, which rule 1 alone may do.)
    return None


def blocks_downgrade(score: int, target: Stage) -> bool:
    """§7.3: a hot contact (score ≥ 80, or ≥ 50) is not moved into a stage for colder leads."""
    return (score >= 80 and target.score_min < 50) or (score >= 50 and target.score_min < 20)


@dataclass(frozen=True)
class Decision:
    """What to do with a contact's stage; `target` is set when a move was chosen or blocked."""

    action: Literal["move", "keep", "blocked"]
    reason: str
    target: Stage | None = None
    rule: Rule | None = None
    current: Stage | None = None


def place(
    *,
    contact_pipeline_id: str | None,
    contact_stage_id: str | None,
    auto_pipeline_id: str | None,
    mode: Mode,
    stages: Sequence[Stage],
    score: int,
    status: str,
    recommended: str = "",
) -> Decision:
    """The §7.4 placement of one contact given the page's auto pipeline and update mode."""
    if auto_pipeline_id is None:
        return Decision("keep", "no_auto_pipeline")
    if contact_pipeline_id is not None:
        if mode == "SKIP_EXISTING":
            return Decision("keep", "skip_existing")
        if contact_pipeline_id != auto_pipeline_id:
            return Decision("keep", "other_pipeline")
    match = best_stage(stages, score, status, recommended)
    if match is None:
        return Decision("keep", "no_stage_to_choose")
    current = None
    if contact_pipeline_id == auto_pipeline_id:
        current = next((s for s in stages if s.id == contact_stage_id), None)
    if current is not None and current.id == match.stage.id:
        return Decision("keep", "unchanged", match.stage, match.rule, current)
    if current is not None and current.type == "WON":
        # A sale is final for the rules: only a person moves a contact out of Won (§7.3).
        return Decision("blocked", "won_is_final", match.stage, match.rule, current)
    # Leaving Lost is never a downgrade: a lead that comes back is placed again (§7.3).
    if current is not None and current.type != "LOST" and blocks_downgrade(score, match.stage):
        return Decision("blocked", "downgrade", match.stage, match.rule, current)
    return Decision("move", "placed", match.stage, match.rule, current)


_CATEGORY = {"LEAD": 0, "IN_PROGRESS": 1, "WON": 2}


def _rank(stage: Stage | None) -> tuple[int, int]:
    """How far along a stage is: no stage, Lost and Archive come before every open stage."""
    if stage is None or stage.type not in _CATEGORY:
        return (-1, 0)
    return (_CATEGORY[stage.type], stage.position)


def move_kind(decision: Decision) -> MoveKind:
    """How a decision moves its contact, as a RESCORE job reports it (DESIGN §6 jobs.result)."""
    if decision.action == "blocked":
        return "blocked"
    if decision.action == "keep" or decision.target is None:
        return "unchanged"
    if decision.target.type == "WON":
        return "into_won"
    if decision.target.type == "LOST":
        return "into_lost"
    return "up" if _rank(decision.current) < _rank(decision.target) else "down"


def with_auto_ranges(stages: Sequence[Stage]) -> list[Stage] | None:
    """The stages with §7.2 ranges when all still have the default 0-100; else None.

    None too when nothing would change or a category has more stages than its band can split.
    """
    ordered = sorted(stages, key=lambda s: s.position)
    if not ordered or not all_default([(s.score_min, s.score_max) for s in ordered]):
        return None
    try:
        ranges = auto_ranges([s.type for s in ordered])
    except ValueError:
        return None
    updated = [
        Stage(s.id, s.name, s.type, s.position, lo, hi)
        for s, (lo, hi) in zip(ordered, ranges, strict=True)
    ]
    return None if updated == ordered else updated
