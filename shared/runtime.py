"""Process plumbing every service shares: signals, the event loop, and the health/metrics server."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import structlog
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Check = Callable[[], Awaitable[bool]]

log = structlog.get_logger("leadsync.runtime")


# Background loops that ended while their service was running (see `supervise`).
_DIED: list[str] = []


def supervise(task: asyncio.Task[Any], *, name: str, stop: asyncio.Event) -> None:
    """A background loop the service cannot run without: if it ends before `stop` is set (its
    own error handling notwithstanding), the service stops and the process exits 1, so a
    supervisor restarts it instead of it running on without the loop."""

    def ended(t: asyncio.Task[Any]) -> None:
        if stop.is_set():
            return
        err = None if t.cancelled() else t.exception()
        log.error("background.died", loop=name,
                  error=(str(err) or type(err).__name__) if err else "ended")
        _DIED.append(name)
        stop.set()

    task.add_done_callback(ended)


def run(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop)` on uvloop; SIGTERM and SIGINT set `stop` for a graceful shutdown."""

    async def wrapper() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    try:
        import uvloop

        uvloop.run(wrapper())
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        asyncio.run(wrapper())
    except KeyboardInterrupt:
        sys.exit(130)
    if _DIED:
        print(f"leadsync: background loop {', '.join(_DIED)} died; exiting", file=sys.stderr)
        sys.exit(1)


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def readyz_endpoint(checks: dict[str, Check]) -> Callable[[Request], Awaitable[Response]]:
    """/readyz: 200 when every dependency answers, else 503 naming the ones that do not."""

    async def readyz(_: Request) -> Response:
        results = await asyncio.gather(*(_probe(check) for check in checks.values()))
        status = dict(zip(checks, results, strict=True))
        body = {name: ("ok" if ok else "unreachable") for name, ok in status.items()}
        return JSONResponse(body, status_code=200 if all(results) else 503)

    return readyz


async def _probe(check: Check) -> bool:
    try:
        return await asyncio.wait_for(check(), timeout=2)
    except Exception:
        return False


def health_app(checks: dict[str, Check]) -> Starlette:
    """The small HTTP app consumers serve on METRICS_PORT: /healthz, /readyz, /metrics."""
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz_endpoint(checks)),
            Route("/metrics", metrics_endpoint),
        ]
    )


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the service that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before serving so a busy port fails fast with a clear message (and port 0 works)."""
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says it is TCP; without it every keep-alive answer waits ~40 ms (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise SystemExit(f"leadsync: cannot listen on {host}:{port}: {err.strerror}") from None
    sock.set_inheritable(True)
    return sock


class HttpServer:
    """A uvicorn server in the current event loop, stopped with `shutdown()`."""

    def __init__(self, app: Any, *, host: str = "0.0.0.0", port: int = 0, **options: Any) -> None:  # noqa: S104
        self.sock = bind_socket(host, port)
        self.port = self.sock.getsockname()[1]
        settings = {"log_config": None, "access_log": False, "lifespan": "off", **options}
        config = uvicorn.Config(app, **settings)
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self.sock]))
        while not self._server.started:
            if self._task.done():
                await self._task
                return
            await asyncio.sleep(0.01)

    async def shutdown(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task


async def serve_consumer(
    consumer: Any,
    *,
    stop: asyncio.Event,
    port: int,
    checks: dict[str, Check],
) -> None:
    """Run a broker consumer with its health server until `stop`, then drain and close."""
    server = HttpServer(health_app(checks), host="0.0.0.0", port=port)  # noqa: S104
    await server.start()
    log.info("health.listening", port=server.port)
    task = asyncio.create_task(consumer.run())
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        consumer.stop()
        await task  # finishes in-flight messages before returning
    finally:
        stopper.cancel()
        await server.shutdown()
