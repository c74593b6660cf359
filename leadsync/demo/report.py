"""The demo's closing output: contacts per stage, and where to look next."""

from __future__ import annotations

from typing import Any

import asyncpg
from rich.console import Console
from rich.table import Table


async def stage_counts(pool: asyncpg.Pool, pipeline_id: str) -> list[dict[str, Any]]:
    """Each stage of the pipeline in order, with its contacts and a few of their names."""
    rows = await pool.fetch(
        """
        SELECT s.name, s.type, s.lead_score_min, s.lead_score_max, count(c.id) AS contacts,
               round(avg(c.lead_score)) AS avg_score,
               (array_agg(c.name ORDER BY c.lead_score DESC NULLS LAST)
                    FILTER (WHERE c.name IS NOT NULL))[1:2] AS examples
        FROM stages s LEFT JOIN contacts c ON c.stage_id = s.id
        WHERE s.pipeline_id = $1::uuid
        GROUP BY s.id ORDER BY s.position
        """,
        pipeline_id,
    )
    return [dict(r) for r in rows]


async def totals(pool: asyncpg.Pool) -> dict[str, int]:
    row = await pool.fetchrow(
        """
        SELECT (SELECT count(*) FROM contacts) AS contacts,
               (SELECT count(*) FROM contacts WHERE stage_id IS NULL) AS unplaced,
               (SELECT count(*) FROM contacts WHERE used_fallback) AS by_fallback,
               (SELECT count(*) FROM contacts WHERE NOT used_fallback) AS by_llm,
               (SELECT count(*) FROM messages) AS messages,
               (SELECT count(*) FROM activities WHERE type = 'STAGE_CHANGED') AS stage_changes
        """
    )
    return dict(row)


def stage_table(stages: list[dict[str, Any]], counts: dict[str, int]) -> Table:
    table = Table(title="Contacts per stage (pipeline “Sales”)", title_justify="left")
    table.add_column("stage")
    table.add_column("type")
    table.add_column("scores", justify="right")
    table.add_column("contacts", justify="right")
    table.add_column("avg score", justify="right")
    table.add_column("for example")
    for s in stages:
        table.add_row(
            s["name"],
            s["type"],
            f"{s['lead_score_min']}-{s['lead_score_max']}",
            str(s["contacts"]),
            "-" if s["avg_score"] is None else str(int(s["avg_score"])),
            ", ".join(s["examples"] or []),
        )
    table.add_section()
    table.add_row(
        "total", "", "", str(counts["contacts"]), "", f"{counts['unplaced']} not placed", style="bold"
    )
    return table


def next_steps(
    console: Console,
    *,
    url: str,
    admin_token: str,
    keep_running: bool,
    database_url: str,
    namespace: str,
    log_path: str,
) -> None:
    console.print("\n[bold]Where to look next[/bold]")
    if keep_running:
        console.print(
            f"  • Ops console: [link={url}/ops/]{url}/ops/[/link]  "
            f"(sign in with the admin token {admin_token})"
        )
        console.print(f"  • Admin API:  curl -H 'Authorization: Bearer {admin_token}' {url}/api/pages")
        console.print(f"  • Metrics:    {url}/metrics")
        console.print("  • Ctrl-C stops everything.")
    else:
        console.print(
            "  • [bold]leadsync demo --keep-running[/bold] (make demo ARGS=--keep-running) "
            "keeps the stack up for the ops console at /ops."
        )
    console.print(
        f"  • The data stays in database {database_url.rsplit('/', 1)[-1]} until the next demo run resets it."
    )
    console.print("  • Dashboards: docker compose --profile monitoring up -d, then Grafana on :3000.")
    console.print(f"  • Dead letters: BROKER_NAMESPACE={namespace} leadsync dlq list analyzer")
    console.print(f"  • Service logs of this run: {log_path}")
