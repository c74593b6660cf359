"""`leadsync backfill` and `leadsync jobs` as a user runs them."""

from __future__ import annotations

import re

from tests.support.backfill import add_page
from tests.support.cli import leadsync


async def test_backfill_starts_one_job_and_jobs_lists_it_with_progress(clean_db, service_env):
    await add_page(clean_db, service_env["TOKEN_ENCRYPTION_KEY"], "PCLI", "EAAclitoken0123456789abcdefghijk")
    code, out, _ = await leadsync(service_env, "backfill", "PCLI", "--incremental")
    assert code == 0 and out.startswith("started INCREMENTAL job ")
    job_id = out.split()[3]
    code, again, _ = await leadsync(service_env, "backfill", "PCLI")
    assert code == 0 and f"already has an active job {job_id}" in again
    await clean_db.execute(
        "UPDATE jobs SET status = 'IN_PROGRESS', started_at = now() - interval '100 seconds', "
        "total_contacts = 40, synced_contacts = 9, failed_contacts = 1, enumeration_done = true"
    )
    code, table, _ = await leadsync(service_env, "jobs")
    assert code == 0
    row = next(line for line in table.splitlines() if job_id[:8] in line)
    assert "PCLI" in row and "INCR" in row and "IN_PROGRESS" in row
    assert "10/40 (1 failed)" in row and "0.1/s" in row  # done/total and rate
    assert re.search(r"\b5m0\ds\b", row)  # ETA: 30 more items at 0.1/s


async def test_backfill_of_an_unknown_page_fails_with_one_line(clean_db, service_env):
    code, out, err = await leadsync(service_env, "backfill", "NOPE")
    assert code == 1 and out == ""
    assert err.strip() == "leadsync: page 'NOPE' not found; add it first (POST /api/pages)"
