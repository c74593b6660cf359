"""One module per `leadsync` subcommand, each with `register(subparsers)`."""

from __future__ import annotations

import argparse


def command_group(sub: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """A subcommand whose own ACTION is required: `leadsync NAME ACTION ...`."""
    p = sub.add_parser(name, help=help)
    actions: argparse._SubParsersAction = p.add_subparsers(dest="action", metavar="ACTION", required=True)  # type: ignore[type-arg]
    return actions
