"""The benchmark's baseline: a bare Starlette app that reads the body and answers 200.

Run as `python bench/baseline_app.py PORT`; it is served exactly like the webhook (the shared
runtime's uvloop and HttpServer, with the webhook's uvicorn options).
"""

from __future__ import annotations

import asyncio
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from services.webhook.app import SERVER_OPTIONS
from shared.runtime import HttpServer, run


async def receive(request: Request) -> Response:
    await request.body()
    return PlainTextResponse("EVENT_RECEIVED")


async def alive(_: Request) -> Response:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/webhooks/meta", receive, methods=["POST"]), Route("/healthz", alive)])


async def main(stop: asyncio.Event) -> None:
    server = HttpServer(app, host="127.0.0.1", port=int(sys.argv[1]), **SERVER_OPTIONS)
    await server.start()
    await stop.wait()
    await server.shutdown()


if __name__ == "__main__":
    run(main)
