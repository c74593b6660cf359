"""`leadsync demo`: the main job end to end on local Postgres and RabbitMQ, with Meta simulated."""

from __future__ import annotations

import argparse

from shared.errors import CommandError, DemoError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="run the whole system on simulated Meta data, then summarise")
    for flag, low, default, text in (
        ("--conversations", 10, 300, "conversations on the simulated Graph API (default 300)"),
        ("--traffic", 0, 60, "live webhook deliveries sent after the backfill (default 60)"),
        ("--port", 0, 8000, "webhook/console port when free (default 8000, else any free port)"),
    ):
        p.add_argument(flag, type=_at_least(low), default=default, help=text)
    p.add_argument(
        "--name",
        default="leadsync_demo",
        type=_identifier,
        help="database and broker namespace the demo resets and uses (leadsync_demo)",
    )
    p.add_argument(
        "--keep-running", action="store_true", help="leave the stack up for the ops console until Ctrl-C"
    )
    p.set_defaults(func=run)


def _at_least(low: int):  # type: ignore[no-untyped-def]
    def parse(value: str) -> int:
        if not value.isdigit() or int(value) < low:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {low}")
        return int(value)

    return parse


def _identifier(value: str) -> str:
    if not value.replace("_", "").isalnum() or not value[0].isalpha() or len(value) > 60:
        raise argparse.ArgumentTypeError("use letters, digits and _ only, starting with a letter")
    return value


def run(args: argparse.Namespace) -> int:
    from leadsync.demo import runner
    from services.analyzer.settings import AnalyzerSettings
    from shared.settings import load

    settings = load(AnalyzerSettings)
    try:
        return runner.main(args, settings)
    except (DemoError, RuntimeError, OSError) as err:
        raise CommandError(f"demo failed: {err}") from None
