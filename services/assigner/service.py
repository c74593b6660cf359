"""The assigner assembled from its settings: the contact.scored consumer and its handler."""

from __future__ import annotations

from asyncpg import Pool

from services.assigner.consumer import Assigner
from services.assigner.settings import AssignerSettings
from shared.broker import Publisher
from shared.messages import ContactScored
from shared.runtime import Service, Stack, consumer_for, pool_for


async def build(
    settings: AssignerSettings, stack: Stack, *, pool: Pool | None = None, publisher: Publisher | None = None
) -> Service:
    """The assigner; a pool not given is opened here and closed by `stack`. It publishes nothing:
    `publisher` is in the signature for the shape every service's build has, and not used."""
    pool = await pool_for(settings, stack, pool)
    assigner = Assigner(pool)
    consumer = consumer_for(settings, "assigner", ContactScored, assigner.handle, pool, settings.prefetch)
    return Service(consumer, pool)
