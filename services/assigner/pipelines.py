"""A per-process cache of auto pipelines' stages, keyed by the pipeline's version column.

Every contact.scored message reads its page's auto pipeline id and version (one small indexed
query that is needed anyway for the page's mode); the stages are re-read only when the version
moved, which a trigger on `stages` guarantees for any edit, through the API or by hand.
"""

from __future__ import annotations

import asyncpg
import structlog

from services.assigner import repository
from services.assigner.stages import with_auto_ranges
from shared.vocabulary import Stage

log = structlog.get_logger("leadsync.assigner")


class PipelineCache:
    def __init__(self) -> None:
        self._stages: dict[str, tuple[int, tuple[Stage, ...]]] = {}

    async def stages(
        self, conn: asyncpg.Connection, pipeline_id: str, version: int, *, save: bool = True
    ) -> tuple[Stage, ...]:
        """The pipeline's stages, with §7.2 ranges generated and saved when all are still 0-100.

        `save=False` (a dry run) uses generated ranges without writing them.
        """
        cached = self._stages.get(pipeline_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        version, loaded = await repository.stages(conn, pipeline_id)
        generated = with_auto_ranges(loaded)
        if generated is not None:
            if not save:
                return tuple(generated)
            await repository.save_ranges(conn, generated)
            log.info(
                "pipeline.ranges_generated",
                pipeline_id=pipeline_id,
                ranges=[f"{s.name}:{s.lead_score_min}-{s.lead_score_max}" for s in generated],
            )
            # Not cached: the save bumped the version; the next read caches what was committed.
            return tuple(generated)
        self._stages[pipeline_id] = (version, tuple(loaded))
        return tuple(loaded)
