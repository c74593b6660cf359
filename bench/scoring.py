"""How the fallback scorer agrees with a person's labels on the scoring corpus (tests/data/scoring).

    .venv/bin/python bench/scoring.py [--misses]

Prints agreement per label and per language for the dev part (the rules were tuned on it), the
held-out part (written before any tuning) and both, the confusion matrix, the number of WON
without a page confirmation and of LOST from a negated phrase, and the scorer's speed.
Goal (issue 12): at least 0.9 agreement, zero WON without confirmation, zero LOST from a
negated phrase; exit status 1 when a goal is missed. The ratios and counts do not depend on the
machine; the speed line does (take it on a quiet machine).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.support is not an installed package

from services.analyzer import fallback, keywords  # noqa: E402
from tests.support import scoring_corpus as corpus  # noqa: E402

GOAL = 0.9
COLUMNS: tuple[tuple[str, dict[str, str]], ...] = (
    ("dev", {"split": "dev"}),
    ("held-out", {"split": "holdout"}),
    ("all", {}),
)


def ratio(report: corpus.Report, **where: str) -> str:
    agreeing, total = report.agreement(**where)
    return f"{agreeing:>3}/{total:<3} {agreeing / total:.3f}" if total else "-"


def table(report: corpus.Report, field: str, values: tuple[str, ...]) -> None:
    print(f"  {field:<10}" + "".join(f"{name:>16}" for name, _ in COLUMNS))
    for value in values:
        cells = [ratio(report, **{**where, field: value}) for _, where in COLUMNS]
        print(f"  {value:<10}" + "".join(f"{c:>16}" for c in cells))


def confusion(report: corpus.Report) -> None:
    print("  label \\ scorer" + "".join(f"{p:>7}" for p in corpus.LABELS))
    for label in corpus.LABELS:
        print(f"  {label:<14}" + "".join(f"{report.confusion[(label, p)]:>7}" for p in corpus.LABELS))


def speed(conversations: list[corpus.Conversation]) -> tuple[float, float]:
    """Microseconds per message: each text read for the first time, then read again (memoised)."""
    messages = sum(len(c.messages) for c in conversations)
    keywords.read.cache_clear()
    start = time.perf_counter()
    for c in conversations:
        fallback.score(c.messages, now=corpus.NOW)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    for c in conversations:
        fallback.score(c.messages, now=corpus.NOW)
    warm = time.perf_counter() - start
    return cold / messages * 1e6, warm / messages * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--misses", action="store_true", help="list every disagreement with its reasoning")
    args = parser.parse_args()
    conversations = corpus.load()
    report = corpus.Report(corpus.evaluate(conversations))
    dev = sum(c.split == "dev" for c in conversations)
    print(
        f"Scoring corpus {corpus.DATA.relative_to(ROOT)}: {len(conversations)} conversations "
        f"({dev} dev, {len(conversations) - dev} held-out), "
        f"{sum(len(c.messages) for c in conversations)} messages"
    )
    print(
        f"Label from the scorer's output: WON/LOST by status; otherwise COLD 1-{corpus.WARM_FROM - 1}, "
        f"WARM {corpus.WARM_FROM}-{corpus.HOT_FROM - 1}, HOT {corpus.HOT_FROM}-80\n"
    )
    print("Agreement" + " " * 7 + "".join(f"{name:>16}" for name, _ in COLUMNS))
    print("  overall   " + "".join(f"{ratio(report, **where):>16}" for _, where in COLUMNS))
    print()
    table(report, "label", corpus.LABELS)
    print()
    table(report, "language", corpus.LANGUAGES)
    print("\nConfusion matrix (all)")
    confusion(report)
    won, lost = report.won_without_confirmation, report.lost_from_negation
    print(f"\nWON without a page confirmation: {len(won)}")
    print(f"LOST from a negated phrase:      {len(lost)}")
    if args.misses or report.misses:
        print(f"\nDisagreements ({len(report.misses)})")
        for r in report.misses:
            print(f"  {r.conversation.id} [{r.conversation.label} -> {r.predicted}] {r.analysis.reasoning}")
    cold, warm = speed(conversations)
    print(
        f"\nSpeed (machine-dependent): {cold:.0f} us per message read for the first time, "
        f"{warm:.0f} us when re-scored (readings memoised)"
    )
    agreeing, total = report.agreement()
    met = agreeing / total >= GOAL and not won and not lost
    print(
        f"\nGoal (>= {GOAL} agreement, 0 WON without confirmation, 0 LOST from negation): "
        f"{'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
