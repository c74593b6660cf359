"""The benchmark's baseline: a bare Starlette app that reads the body and answers 200.

Run as `python bench/baseline_app.py PORT`; it serves on the webhook's own uvicorn settings.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from services.webhook.__main__ import server_config
from shared.runtime import bind_socket


async def receive(request: Request) -> Response:
    await request.body()
    return PlainTextResponse("EVENT_RECEIVED")


async def alive(_: Request) -> Response:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/webhooks/meta", receive, methods=["POST"]), Route("/healthz", alive)])

if __name__ == "__main__":
    sock = bind_socket("127.0.0.1", int(sys.argv[1]))
    uvicorn.Server(server_config(app)).run(sockets=[sock])
