"""`leadsync analyze FILE|-`: print the Analysis JSON for a transcript (LLM if configured)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import CommandError
from shared.messages import Analysis, ChatMessage
from shared.vocabulary import Stage


class TranscriptFile(BaseModel):
    """The file's shape: {"messages": [ChatMessage…], "stages": [Stage…]?}."""

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=1)
    stages: list[Stage] = Field(default_factory=list)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "analyze",
        help="score a transcript file and print the Analysis JSON",
        description='FILE holds {"messages": [{"mid", "from_page", "text", "sent_at"}…], '
        '"stages": [{"name", "type", "lead_score_min", "lead_score_max"}…]}. '
        "Uses the LLM when OPENAI_API_KEY is set, else the fallback scorer.",
    )
    p.add_argument("file", metavar="FILE", help="transcript JSON file, or - for standard input")
    p.set_defaults(func=run)


def read(path: str) -> TranscriptFile:
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as err:
        raise CommandError(f"cannot read {path}: {err.strerror}") from None
    try:
        return TranscriptFile.model_validate(orjson.loads(raw))
    except orjson.JSONDecodeError as err:
        raise CommandError(f"{path} is not JSON: {err}") from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise CommandError(
            f"{path} is not a transcript: {where}: {first['msg'].lower()} "
            f'(expected {{"messages": [...], "stages": [...]}})'
        ) from None


async def analyse(transcript: TranscriptFile) -> Analysis:
    # Imported here: the analyzer (and openai) load only when a transcript is scored.
    from services.analyzer.service import scorer
    from services.analyzer.settings import AnalyzerSettings
    from shared import logging
    from shared.settings import load

    settings = load(AnalyzerSettings)
    # stdout carries the JSON alone; a fallback warning goes to stderr.
    logging.configure(service="analyze", fmt="console", level="warning", secrets=settings.secrets())
    scoring = scorer(settings)
    try:
        return await scoring.score(transcript.messages, transcript.stages, now=datetime.now(UTC))
    finally:
        await scoring.close()


def run(args: argparse.Namespace) -> int:
    transcript = read(args.file)
    analysis = asyncio.run(analyse(transcript))
    sys.stdout.write(orjson.dumps(analysis.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())
    sys.stdout.write("\n")
    return 0
