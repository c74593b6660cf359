"""The backfill service's page health checks: every connected page every
BACKFILL_HEALTH_INTERVAL_S (6 hours), after a token or permission error, and before each job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from shared import page_health
from shared.crypto import TokenCipher
from shared.errors import GraphError, TemporaryError
from shared.meta_app import MetaApp
from shared.vocabulary import HealthStatus

log = structlog.get_logger("leadsync.backfill.health")

# Graph codes after which a page is checked at once: the token (190) or a permission (10, 2xx).
CHECK_AFTER = frozenset({190, 10})


def calls_for_check(code: int | None) -> bool:
    return code is not None and (code in CHECK_AFTER or 200 <= code <= 299)


@dataclass
class PageHealth:
    pool: asyncpg.Pool
    meta: MetaApp
    cipher: TokenCipher
    interval_s: float

    async def check(self, page_id: str) -> dict[str, Any] | None:
        """The page's health now; None when Meta cannot be asked (the caller goes on)."""
        try:
            return await page_health.check(self.pool, self.meta, self.cipher, page_id)
        except TemporaryError as err:
            log.warning("page.health_unknown", page_id=page_id, error=err.message)
        except GraphError as err:
            log.warning("page.health_check_failed", page_id=page_id, code=err.code)
        return None

    async def sweep(self) -> int:
        """Check every connected page whose last check is older than the interval."""
        due = await self.pool.fetch(
            """SELECT id FROM pages WHERE access_token_enc IS NOT NULL
                 AND health_status <> $2
                 AND (health_checked_at IS NULL
                      OR health_checked_at < now() - make_interval(secs => $1))
               ORDER BY health_checked_at NULLS FIRST LIMIT 100""",
            self.interval_s,
            HealthStatus.DISCONNECTED,
        )
        for row in due:
            result = await self.check(row["id"])
            if result is not None and result["status"] != HealthStatus.OK:
                log.warning(
                    "page.unhealthy",
                    page_id=row["id"],
                    status=result["status"],
                    resubscribed=result["resubscribed"],
                )
        await page_health.refresh_gauge(self.pool)
        return len(due)
