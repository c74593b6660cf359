"""The labeled scoring corpus (tests/data/scoring): loading it, and how the fallback agrees with it.

A label maps to the scorer's output as docs/decisions.md ("issue 12: scoring") says: WON and
LOST by status; otherwise by score band: COLD 1-30 (the LEAD band), WARM 31-55 and HOT 56-80
(the two IN_PROGRESS stages DESIGN §7.2 makes of 31-80).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml

from services.analyzer import fallback
from shared.messages import Analysis, ChatMessage

DATA = Path(__file__).resolve().parents[1] / "data" / "scoring"
LABELS = ("COLD", "WARM", "HOT", "WON", "LOST")
LANGUAGES = ("en", "es", "pt", "fr", "tl", "id")
SPLITS = ("dev", "holdout")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WARM_FROM, HOT_FROM = 31, 56
Label = Literal["COLD", "WARM", "HOT", "WON", "LOST"]
_AGE = re.compile(r"(\d+)([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Conversation:
    id: str
    language: str
    split: str
    label: Label
    reason: str
    tags: tuple[str, ...]
    messages: tuple[ChatMessage, ...]


def _age(text: str) -> timedelta:
    match = _AGE.fullmatch(text)
    if not match:
        raise ValueError(f"bad age {text!r}: use e.g. 30m, 5h, 3d, 2w")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def _conversation(item: dict[str, Any], language: str, split: str) -> Conversation:
    turns = item["turns"]
    last = NOW - _age(str(item.get("ago", "1h")))
    messages = []
    for i, turn in enumerate(turns):
        [(speaker, text)] = turn.items()
        if speaker not in ("c", "p"):
            raise ValueError(f"{item['id']}: a turn is c: or p:, not {speaker}:")
        messages.append(
            ChatMessage(
                mid=f"{item['id']}-{i}",
                from_page=speaker == "p",
                text=str(text),
                sent_at=last - timedelta(minutes=3 * (len(turns) - 1 - i)),
            )
        )
    if item["label"] not in LABELS:
        raise ValueError(f"{item['id']}: unknown label {item['label']}")
    return Conversation(
        item["id"],
        language,
        split,
        item["label"],
        item["reason"],
        tuple(item.get("tags", ())),
        tuple(messages),
    )


def load(root: Path = DATA) -> list[Conversation]:
    """Every conversation, dev then held-out, each split in language order."""
    out: list[Conversation] = []
    for split in SPLITS:
        for language in LANGUAGES:
            path = root / split / f"{language}.yaml"
            out.extend(_conversation(item, language, split) for item in yaml.safe_load(path.read_text()))
    return out


def label_of(analysis: Analysis) -> Label:
    """The label a person would read off the scorer's output."""
    if analysis.lead_status in ("WON", "LOST"):
        return analysis.lead_status
    if analysis.lead_score >= HOT_FROM:
        return "HOT"
    return "WARM" if analysis.lead_score >= WARM_FROM else "COLD"


@dataclass(frozen=True)
class Result:
    conversation: Conversation
    analysis: Analysis
    predicted: Label

    @property
    def agrees(self) -> bool:
        return self.predicted == self.conversation.label

    @property
    def won_without_confirmation(self) -> bool:
        """WON where no page message confirms (by the corpus' tag, and by what the WON cites)."""
        if self.predicted != "WON":
            return False
        pages = {m.mid for m in self.conversation.messages if m.from_page}
        won = self.analysis.signals[-1]
        return "confirmation" not in self.conversation.tags or not pages & set(won.mids)

    @property
    def lost_from_negation(self) -> bool:
        """LOST where a person reads none, in a conversation whose hard part is a negated phrase."""
        return (
            self.predicted == "LOST"
            and self.conversation.label != "LOST"
            and "negation" in self.conversation.tags
        )


def evaluate(conversations: Iterable[Conversation]) -> list[Result]:
    results = []
    for conv in conversations:
        analysis = fallback.score(conv.messages, now=NOW)
        results.append(Result(conv, analysis, label_of(analysis)))
    return results


@dataclass
class Report:
    results: Sequence[Result]
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.confusion.update((r.conversation.label, r.predicted) for r in self.results)

    def agreement(self, **where: str) -> tuple[int, int]:
        """(agreeing, total) over the results whose conversation matches every `where` field."""
        chosen = [r for r in self.results if all(getattr(r.conversation, k) == v for k, v in where.items())]
        return sum(r.agrees for r in chosen), len(chosen)

    @property
    def won_without_confirmation(self) -> list[Result]:
        return [r for r in self.results if r.won_without_confirmation]

    @property
    def lost_from_negation(self) -> list[Result]:
        return [r for r in self.results if r.lost_from_negation]

    @property
    def misses(self) -> list[Result]:
        return [r for r in self.results if not r.agrees]


GOLDEN = DATA / "golden.json"


def golden_values(conversations: Iterable[Conversation] | None = None) -> dict[str, dict[str, object]]:
    """What the fallback says of each corpus conversation: score, status, evidence and signals."""
    out: dict[str, dict[str, object]] = {}
    for result in evaluate(load() if conversations is None else conversations):
        a = result.analysis
        out[result.conversation.id] = {
            "score": a.lead_score,
            "status": a.lead_status,
            "evidence": a.evidence,
            "signals": [[s.signal, s.points, s.mids] for s in a.signals],
        }
    return out


def dump_golden(values: dict[str, dict[str, object]]) -> str:
    """One conversation per line, so a change in the rules reads as a small diff."""
    lines = [
        f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


if __name__ == "__main__":
    # `python -m tests.support.scoring_corpus` prints the golden values as JSON (the determinism
    # test runs it under several PYTHONHASHSEED values); `... --write` rewrites the golden file
    # after an intended change of the rules.
    text = dump_golden(golden_values())
    if sys.argv[1:] == ["--write"]:
        GOLDEN.write_text(text)
    else:
        sys.stdout.write(text)
