"""Admin API routes for contacts."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
