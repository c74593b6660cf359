"""Where a scored contact belongs (DESIGN §7.1-7.4): pure functions of their inputs, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

from shared.score_ranges import all_default, auto_ranges
from shared.vocabulary import PipelineMode, Stage, StageType

MoveKind = Literal["into_won", "into_lost", "up", "down", "blocked", "unchanged"]

__all__ = [
    "Decision",
    "Match",
    "MoveKind",
    "Rule",
    "best_stage",
    "blocks_downgrade",
    "move_kind",
    "place",
    "with_auto_ranges",
]


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


TERMINAL = (StageType.WON, StageType.LOST)
_SCORED = (StageType.LEAD, StageType.IN_PROGRESS)


def best_stage(stages: Sequence[Stage], score: int, status: str, recommended: str = "") -> Match | None:
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
        if stage.type in _SCORED and stage.lead_score_min <= score <= stage.lead_score_max:
            return Match(stage, Rule.SCORE_RANGE)
    eligible = [s for s in ordered if s.type not in (StageType.ARCHIVED, *TERMINAL)]
    if eligible:
        # Twice the distance keeps it in integers; min() keeps the lower position on a tie.
        return Match(
            min(eligible, key=lambda s: abs(s.lead_score_min + s.lead_score_max - 2 * score)),
            Rule.NEAREST_MIDPOINT,
        )
    # Only WON/LOST/ARCHIVED stages remain, and the status names none of them: nothing fits.
    # (Rules 4 and 5 could only pick a terminal stage here, which rule 1 alone may do.)
    return None


def blocks_downgrade(score: int, target: Stage) -> bool:
    """§7.3: a hot contact (score ≥ 80, or ≥ 50) is not moved into a stage for colder leads."""
    return (score >= 80 and target.lead_score_min < 50) or (score >= 50 and target.lead_score_min < 20)


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
    mode: PipelineMode,
    stages: Sequence[Stage],
    score: int,
    status: str,
    recommended: str = "",
) -> Decision:
    """The §7.4 placement of one contact given the page's auto pipeline and update mode."""
    if auto_pipeline_id is None:
        return Decision("keep", "no_auto_pipeline")
    if contact_pipeline_id is not None:
        if mode == PipelineMode.SKIP_EXISTING:
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
    if current is not None and current.type == StageType.WON:
        # A sale is final for the rules: only a person moves a contact out of Won (§7.3).
        return Decision("blocked", "won_is_final", match.stage, match.rule, current)
    # Leaving Lost is never a downgrade: a lead that comes back is placed again (§7.3).
    if current is not None and current.type != StageType.LOST and blocks_downgrade(score, match.stage):
        return Decision("blocked", "downgrade", match.stage, match.rule, current)
    return Decision("move", "placed", match.stage, match.rule, current)


_CATEGORY = {StageType.LEAD: 0, StageType.IN_PROGRESS: 1, StageType.WON: 2}


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
    if decision.target.type == StageType.WON:
        return "into_won"
    if decision.target.type == StageType.LOST:
        return "into_lost"
    return "up" if _rank(decision.current) < _rank(decision.target) else "down"


def with_auto_ranges(stages: Sequence[Stage]) -> list[Stage] | None:
    """The stages with §7.2 ranges when all still have the default 0-100; else None.

    None too when nothing would change or a category has more stages than its band can split.
    """
    ordered = sorted(stages, key=lambda s: s.position)
    if not ordered or not all_default([(s.lead_score_min, s.lead_score_max) for s in ordered]):
        return None
    try:
        ranges = auto_ranges([s.type for s in ordered])
    except ValueError:
        return None
    updated = [
        replace(s, lead_score_min=lo, lead_score_max=hi) for s, (lo, hi) in zip(ordered, ranges, strict=True)
    ]
    return None if updated == ordered else updated
