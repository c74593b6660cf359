"""One module per `leadsync` subcommand, each with `register(subparsers)`."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def command_group(sub: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """A subcommand whose own ACTION is required: `leadsync NAME ACTION ...`."""
    p = sub.add_parser(name, help=help)
    actions: argparse._SubParsersAction = p.add_subparsers(dest="action", metavar="ACTION", required=True)  # type: ignore[type-arg]
    return actions


def action(
    actions: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    run: Callable[[argparse.Namespace], int],
    help: str,
) -> argparse.ArgumentParser:
    """The ACTION `name` of a command group, done by `run`; `run`'s docstring is its description."""
    p: argparse.ArgumentParser = actions.add_parser(name, help=help, description=run.__doc__)
    p.set_defaults(func=run)
    return p
