"""`leadsync`: the command line. Exit 0 on success, 2 on bad usage, 1 on failure (one line)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from shared.errors import CommandError

# Each module registers its subcommands; the order is the order of `leadsync --help`.
COMMANDS = [
    "leadsync.commands.migrate",
    "leadsync.commands.run",
    "leadsync.commands.demo",
    "leadsync.commands.pages",
    "leadsync.commands.connected",
    "leadsync.commands.pipelines",
    "leadsync.commands.contacts",
    "leadsync.commands.analyze",
    "leadsync.commands.backfill",
    "leadsync.commands.jobs",
    "leadsync.commands.rescore",
    "leadsync.commands.simulate",
    "leadsync.commands.dlq",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadsync",
        description="Messenger and Instagram conversations into a scored sales pipeline.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except CommandError as err:
        print(f"leadsync: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code or 0)
