"""JSON responses of the admin API, encoded by orjson so datetimes and uuids come out as text."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class ApiResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        # asyncpg's UUID type is not one orjson knows; str() gives its canonical form.
        return orjson.dumps(content, default=str)
