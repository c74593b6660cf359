"""A fake OpenAI-compatible server on loopback for tests and benchmarks.

    async with FakeLLM(latency=0.05, script=[RATE_LIMITED, OK]) as llm:
        settings = AnalyzerSettings(openai_api_key="test", openai_base_url=llm.base_url)
        ...
        assert llm.calls == 2 and llm.max_in_flight <= 4

It answers POST /v1/chat/completions. Each request gets a behaviour: the next entry of `script`
(while any are left), else what `responder(body, n)` returns (n counts requests from 1), else OK.
A responder may also return a dict of Analysis fields (lead_score, lead_status, confidence, ...)
to answer with exactly those.
Behaviours: OK (a valid Analysis JSON), RATE_LIMITED (429 with Retry-After), SERVER_ERROR (500),
HANG (no answer until the client gives up), MALFORMED (content that is not JSON),
OUT_OF_RANGE (score 250, confidence -20: valid after clamping), UNKNOWN_STATUS (status "MAYBE").
"""

from __future__ import annotations

import asyncio
import collections
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.runtime import HttpServer

OK = "ok"
RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
HANG = "hang"
MALFORMED = "malformed"
OUT_OF_RANGE = "out_of_range"
UNKNOWN_STATUS = "unknown_status"
MODES = (OK, RATE_LIMITED, SERVER_ERROR, HANG, MALFORMED, OUT_OF_RANGE, UNKNOWN_STATUS)

Responder = Callable[[dict[str, Any], int], "str | dict[str, Any]"]


def analysis_content(
    *, score: Any = 72, status: str = "QUALIFIED", confidence: Any = 80, stage: str = ""
) -> str:
    """The JSON text a well-behaved model returns (values may be out of range on purpose)."""
    return orjson.dumps(
        {
            "lead_score": score,
            "lead_status": status,
            "recommended_stage": stage,
            "summary": "Customer asked about price and delivery.",
            "reasoning": "Asked for the price and shared a phone number.",
            "confidence": confidence,
        }
    ).decode()


def completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
    }


class FakeLLM:
    """The fake server; counters are readable while it runs and after it stopped."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        script: Iterable[str] = (),
        responder: Responder | None = None,
        retry_after: float = 0.05,
        hang_s: float = 30.0,
        score: int = 72,
    ) -> None:
        self.latency, self.hang_s, self.retry_after = latency, hang_s, retry_after
        self.script = collections.deque(script)
        self.responder = responder
        self.score = score
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.started_at: list[float] = []  # loop time of each request, for rate checks
        self.requests: list[dict[str, Any]] = []
        self._release = asyncio.Event()
        self._server: HttpServer | None = None
        self.base_url = ""

    def _mode(self, body: dict[str, Any]) -> str | dict[str, Any]:
        if self.script:
            return self.script.popleft()
        if self.responder is not None:
            return self.responder(body, self.calls)
        return OK

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.started_at.append(asyncio.get_running_loop().time())
        self.requests.append(body)
        mode = self._mode(body)
        self.outcomes[mode if isinstance(mode, str) else OK] += 1
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            return await self._answer(mode, str(body.get("model", "fake")))
        finally:
            self.in_flight -= 1

    async def _answer(self, mode: str | dict[str, Any], model: str) -> Response:
        if isinstance(mode, dict):
            fields = {
                "lead_score": self.score,
                "lead_status": "QUALIFIED",
                "confidence": 80,
                "recommended_stage": "",
                "summary": "",
                "reasoning": "",
                **mode,
            }
            return JSONResponse(completion(orjson.dumps(fields).decode(), model))
        if mode == RATE_LIMITED:
            return JSONResponse(
                {"error": {"message": "rate limited", "type": "rate_limit"}},
                status_code=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        if mode == SERVER_ERROR:
            return JSONResponse({"error": {"message": "boom", "type": "server_error"}}, status_code=500)
        if mode == HANG:
            # Until the test ends (or hang_s): the client's timeout is what ends the call.
            try:
                await asyncio.wait_for(self._release.wait(), self.hang_s)
            except TimeoutError:
                pass
            content = analysis_content(score=self.score)
        elif mode == MALFORMED:
            content = '{"lead_score": 80, "lead_status": "QUALIFIED", oops'
        elif mode == OUT_OF_RANGE:
            content = analysis_content(score=250, confidence=-20, status="QUALIFIED")
        elif mode == UNKNOWN_STATUS:
            content = analysis_content(score=self.score, status="MAYBE")
        elif mode == OK:
            content = analysis_content(score=self.score)
        else:
            raise ValueError(f"unknown FakeLLM mode {mode!r}; use one of {MODES}")
        return JSONResponse(completion(content, model))

    async def _stats(self, _: Request) -> Response:
        return JSONResponse(self.stats())

    def stats(self) -> dict[str, Any]:
        """The counters, as GET /stats returns them to a benchmark running this in a child process."""
        return {
            "calls": self.calls,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "outcomes": dict(self.outcomes),
        }

    def env(self, **more: str) -> dict[str, str]:
        """The services' settings that point the analyzer at this server, with `more` on top."""
        return {"OPENAI_API_KEY": "sk-test-fake-key-0000000000", "OPENAI_BASE_URL": self.base_url, **more}

    async def __aenter__(self) -> FakeLLM:
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/stats", self._stats),
            ]
        )
        self._server = HttpServer(app, host="127.0.0.1", port=0)
        # Accepted connections inherit this: without it a reused connection's answer waits ~40 ms
        # for the client's delayed ACK (Nagle), which a real LLM server does not add.
        self._server.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await self._server.start()
        self.base_url = f"http://127.0.0.1:{self._server.port}/v1"
        return self

    async def __aexit__(self, *_: object) -> None:
        self._release.set()
        if self._server is not None:
            await self._server.shutdown()

    def max_per_window(self, window_s: float) -> int:
        """The most requests that started within any `window_s` seconds (for rate-limit checks)."""
        times = sorted(self.started_at)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= window_s:
                lo += 1
            best = max(best, hi - lo + 1)
        return best


async def _serve(latency: float) -> None:
    """Serve until SIGTERM/SIGINT, printing the base URL first (benchmarks run it as a process)."""
    import signal
    import sys

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with FakeLLM(latency=latency) as llm:
        print(llm.base_url, flush=True, file=sys.stdout)
        await stop.wait()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="a fake OpenAI-compatible server on loopback")
    parser.add_argument("--latency", type=float, default=0.0)
    asyncio.run(_serve(parser.parse_args().latency))
