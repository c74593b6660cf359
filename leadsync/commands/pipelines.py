"""`leadsync pipelines create NAME --stage "Name:TYPE[:min-max]" …` and `leadsync pipelines list`."""

from __future__ import annotations

import argparse
import re

import asyncpg

from leadsync.commands import action, admin_db, command_group
from services.webhook.api import pipelines
from shared.score_ranges import all_default
from shared.settings import BaseServiceSettings, load

STAGE = re.compile(r"^(?P<name>[^:]+):(?P<type>[A-Za-z_]+)(?::(?P<min>\d+)-(?P<max>\d+))?$")


def stage_spec(text: str) -> dict[str, object]:
    """ "Qualified:IN_PROGRESS" or "Qualified:IN_PROGRESS:31-55" → a stage body."""
    match = STAGE.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not Name:TYPE or Name:TYPE:min-max")
    stage: dict[str, object] = {"name": match["name"].strip(), "type": match["type"].upper()}
    if match["min"] is not None:
        stage.update(lead_score_min=int(match["min"]), lead_score_max=int(match["max"]))
    return stage


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = command_group(sub, "pipelines", "create and list sales pipelines")
    create = action(actions, "create", run_create, help="create a pipeline; stages in the order given")
    create.add_argument("name")
    create.add_argument(
        "--stage", dest="stages", action="append", type=stage_spec, default=[], metavar="NAME:TYPE[:MIN-MAX]"
    )
    create.add_argument("--auto-ranges", action="store_true", help="generate score ranges now")
    action(actions, "list", run_list, help="list pipelines and their stages")


def run_create(args: argparse.Namespace) -> int:
    """Stage types: LEAD, IN_PROGRESS, WON, LOST, ARCHIVED. Stages left without a range get
    automatic ones (DESIGN 7.2) when the assigner first uses them, or at once with --auto-ranges.
    """
    body = admin_db.validate(pipelines.PipelineIn, {"name": args.name, "stages": args.stages})

    async def create(conn: asyncpg.Connection) -> dict[str, object]:
        pipeline_id = await pipelines.insert_pipeline(conn, body)
        if args.auto_ranges:
            await pipelines.apply_auto_ranges(conn, pipeline_id)
        return await pipelines.get_pipeline(conn, pipeline_id) or {}

    created = admin_db.run(load(BaseServiceSettings), create)
    print_pipeline(created)
    ranges = [(s.lead_score_min, s.lead_score_max) for s in body.stages]
    if ranges and not args.auto_ranges and all_default(ranges):
        print(
            "score ranges are still 0-100: the assigner generates them when it first uses this "
            "pipeline (or run with --auto-ranges)"
        )
    return 0


def print_pipeline(pipeline: dict[str, object]) -> None:
    stages = pipeline["stages"]
    assert isinstance(stages, list)
    admin_db.print_table(
        f"pipeline {pipeline['name']} ({pipeline['id']})",
        ["#", "stage", "type", "score range"],
        [
            (s["position"], s["name"], s["type"], f"{s['lead_score_min']}-{s['lead_score_max']}")
            for s in stages
        ],
    )


def run_list(_: argparse.Namespace) -> int:
    async def everything(conn: asyncpg.Connection) -> list[dict[str, object]]:
        ids = await conn.fetch("SELECT id FROM pipelines ORDER BY created_at, id")
        return [p for r in ids if (p := await pipelines.get_pipeline(conn, r["id"]))]

    for pipeline in admin_db.run(load(BaseServiceSettings), everything):
        print_pipeline(pipeline)
    return 0
