"""Process plumbing every service shares: signals, the event loop, the health/metrics server, and
`consumer_main`, the one `main()` of the three consumer services.

A consumer service is a `build(settings, stack, *, pool=None, publisher=None)` in its
`service.py` that returns a `Service`; its `__main__.py` is `consumer_main(name, Settings, build)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import asyncpg
import structlog
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared import db, logging
from shared.broker import CONSUMER_CONFIRM_TIMEOUT, Consumer, FinalFailure, Handler, Publisher, Topology
from shared.messages import WireMessage
from shared.settings import BaseServiceSettings, load

Check = Callable[[], Awaitable[bool]]
# What a service's `build` registers what it opens on, to be closed in reverse.
Stack = contextlib.AsyncExitStack
S = TypeVar("S", bound=BaseServiceSettings)

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
        log.error("background.died", loop=name, error=(str(err) or type(err).__name__) if err else "ended")
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


class Runnable(Protocol):
    """What `consumer_main` runs: `shared.broker.Consumer` (and test doubles of it)."""

    @property
    def connected(self) -> bool: ...

    async def run(self) -> None: ...

    def stop(self) -> None: ...


Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def database_check(pool: asyncpg.Pool) -> Check:
    """The /readyz check of the database, also the consumer's circuit probe."""

    async def database() -> bool:
        return bool(await pool.fetchval("SELECT 1") == 1)

    return database


@dataclass
class Service:
    """A consumer service as its `build` assembled it.

    `consumer` runs until the process is asked to stop; `on_stop` is called at that moment,
    before the deliveries in flight drain (the backfill gives its running jobs back). Each of
    `loops` runs beside the consumer with the stop event and is supervised: if one ends early
    the process exits 1. Everything else `build` opened is closed by the exit stack it was given.
    """

    consumer: Runnable
    pool: asyncpg.Pool
    on_stop: Callable[[], None] = lambda: None
    loops: dict[str, Loop] = field(default_factory=dict)

    async def broker(self) -> bool:
        """The /readyz check of the broker: the consumer's own connection, never a new one."""
        return self.consumer.connected


M = TypeVar("M", bound=WireMessage)


async def pool_for(
    settings: BaseServiceSettings, stack: contextlib.AsyncExitStack, pool: asyncpg.Pool | None = None
) -> asyncpg.Pool:
    """`pool` when a caller gave one, else a pool of DATABASE_URL that `stack` closes."""
    if pool is None:
        pool = await db.create_pool(settings.database_url, min_size=0)
        stack.push_async_callback(pool.close)
    return pool


def publisher_for(
    settings: BaseServiceSettings, stack: contextlib.AsyncExitStack, publisher: Publisher | None = None
) -> Publisher:
    """`publisher` when a caller gave one, else a consumer's publisher that `stack` closes."""
    if publisher is None:
        publisher = Publisher(
            settings.amqp_url.get_secret_value(),
            Topology(settings.broker_namespace),
            timeout=CONSUMER_CONFIRM_TIMEOUT,
        )
        stack.push_async_callback(publisher.close)
    return publisher


def consumer_for(
    settings: BaseServiceSettings,
    service: str,
    model: type[M],
    handler: Handler[M],
    pool: asyncpg.Pool,
    prefetch: int,
    *,
    on_final_failure: FinalFailure[M] | None = None,
    max_bytes_in_flight: int | None = None,
) -> Consumer[M]:
    """The service's consumer of `{ns}.{service}`, its circuit probing `pool`."""
    return Consumer(
        amqp_url=settings.amqp_url.get_secret_value(),
        topology=Topology(settings.broker_namespace),
        service=service,
        model=model,
        handler=handler,
        prefetch=prefetch,
        on_final_failure=on_final_failure,
        probe=database_check(pool),
        retry_budget_s=settings.retry_budget_s,
        max_bytes_in_flight=max_bytes_in_flight,
    )


# A service's `build(settings, stack, *, pool=None, publisher=None)`, as consumer_main calls it.
Build = Callable[[S, contextlib.AsyncExitStack], Awaitable[Service]]


def consumer_main(name: str, settings_cls: type[S], build: Build[S]) -> None:
    """`python -m services.<name>`: settings, logging, the service `build` makes, its health
    server on METRICS_PORT, until SIGTERM; then drain and close everything in reverse."""

    async def main(stop: asyncio.Event) -> None:
        settings = load(settings_cls)
        logging.configure(
            service=name, fmt=settings.log_format, level=settings.log_level, secrets=settings.secrets()
        )
        async with contextlib.AsyncExitStack() as stack:
            service = await build(settings, stack)
            await serve(service, stop=stop, port=settings.health_port)

    run(main)


async def serve(service: Service, *, stop: asyncio.Event, port: int) -> None:
    """Run the service's consumer and loops with its health server until `stop`, then drain."""
    loops = []
    for loop_name, loop in service.loops.items():
        task = asyncio.create_task(loop(stop))
        supervise(task, name=loop_name, stop=stop)
        loops.append(task)
    try:
        await serve_consumer(
            service.consumer,
            stop=stop,
            port=port,
            on_stop=service.on_stop,
            checks={"broker": service.broker, "database": database_check(service.pool)},
        )
    finally:
        stop.set()  # the loops end with the consumer, also when it failed
        await asyncio.gather(*loops, return_exceptions=True)


async def serve_consumer(
    consumer: Runnable,
    *,
    stop: asyncio.Event,
    port: int,
    checks: dict[str, Check],
    on_stop: Callable[[], None] = lambda: None,
) -> None:
    """Run a broker consumer with its health server until `stop`, then drain and close."""
    server = HttpServer(health_app(checks), host="0.0.0.0", port=port)  # noqa: S104
    await server.start()
    log.info("health.listening", port=server.port)
    task = asyncio.create_task(consumer.run())
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        on_stop()
        consumer.stop()
        await task  # finishes in-flight messages before returning
    finally:
        stopper.cancel()
        await server.shutdown()
