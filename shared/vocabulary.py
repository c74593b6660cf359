"""The words the tables hold (DESIGN §6), defined once: stage types, update modes, job kinds,
job statuses, item outcomes, page health, and the pipeline stage every service reads.

Each enum is a `StrEnum` whose values are the exact text the tables' CHECK constraints allow, so
a member compares equal to the string a row returns and can be passed to SQL as a `$n` parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import Field

__all__ = [
    "ACTIVE_JOB_STATUSES",
    "TERMINAL_JOB_STATUSES",
    "HealthStatus",
    "ItemOutcome",
    "JobKind",
    "JobStatus",
    "PipelineMode",
    "Stage",
    "StageType",
    "values",
]


class StageType(StrEnum):
    """`stages.type`: what a stage means to placement (DESIGN §7.1)."""

    LEAD = "LEAD"  # scored into by range
    IN_PROGRESS = "IN_PROGRESS"  # scored into by range, above the LEAD band
    WON = "WON"  # chosen only by a WON status
    LOST = "LOST"  # chosen only by a LOST status
    ARCHIVED = "ARCHIVED"  # never chosen automatically


class PipelineMode(StrEnum):
    """`pages.auto_pipeline_mode`: what a new analysis does to a contact already placed (§7.4)."""

    SKIP_EXISTING = "SKIP_EXISTING"  # place new contacts only
    UPDATE_EXISTING = "UPDATE_EXISTING"  # move existing contacts too (downgrades guarded)


class JobKind(StrEnum):
    """`jobs.kind` (DESIGN §6, §7.7)."""

    FULL = "FULL"  # every conversation of the page
    INCREMENTAL = "INCREMENTAL"  # conversations updated since the last sync
    RETRY = "RETRY"  # the failed items of an earlier job
    RESCORE = "RESCORE"  # the stored transcripts scored again, nothing fetched from Meta


class JobStatus(StrEnum):
    """`jobs.status`; at most one active (PENDING or IN_PROGRESS) job per page."""

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


# The statuses of a job still to finish (the partial unique index of migrations 0001 and 0006).
ACTIVE_JOB_STATUSES: tuple[JobStatus, ...] = (JobStatus.PENDING, JobStatus.IN_PROGRESS)
TERMINAL_JOB_STATUSES: tuple[JobStatus, ...] = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class ItemOutcome(StrEnum):
    """`job_items.outcome`: how one contact of a job settled."""

    SYNCED = "SYNCED"
    FAILED = "FAILED"


class HealthStatus(StrEnum):
    """`pages.health_status`: what the last check of a connected page found."""

    OK = "ok"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (a status, not a secret)
    TOKEN_INVALID = "token_invalid"  # noqa: S105
    MISSING_PERMISSIONS = "missing_permissions"
    UNSUBSCRIBED = "unsubscribed"
    DISCONNECTED = "disconnected"


def values(enum: type[StrEnum]) -> list[str]:
    """The enum's values in definition order (for SQL `= ANY($n)` and JSON Schema `enum`)."""
    return [member.value for member in enum]


Score = Annotated[int, Field(ge=0, le=100)]


@dataclass(frozen=True, slots=True)
class Stage:
    """A pipeline stage (`stages` row): what the assigner places contacts into and the prompt shows.

    `id` and `position` are empty for a stage that exists only in an `analyze` input file.
    Pydantic validates it where a model holds one (the score bounds, a non-empty name).
    """

    name: Annotated[str, Field(min_length=1)]
    type: StageType = StageType.LEAD
    lead_score_min: Score = 0
    lead_score_max: Score = 100
    id: str = ""
    position: int = 0
