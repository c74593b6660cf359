"""The console's HTML: a layout and small escaped building blocks, rendered as plain strings."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from shared.vocabulary import ACTIVE_JOB_STATUSES

DASH = "\u2013"  # shown for a missing value


def e(value: object) -> str:
    """Escape anything for HTML text or a quoted attribute."""
    return escape("" if value is None else str(value), quote=True)


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return '<span class="muted">never</span>'
    seconds = max((now - moment).total_seconds(), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            text = f"{seconds // size:.0f} {unit} ago"
            break
    else:
        text = "just now"
    return f'<time datetime="{e(moment.isoformat())}" title="{e(moment.isoformat())}">{text}</time>'


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    seconds = max(seconds, 0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:02.0f} min"


def progress_text(done: int, total: int | None, rate: float | None, eta: float | None) -> str:
    """`3 / 10 · 2.1/s · ETA 4 s`, the same wording console.js writes."""
    parts = [f"{done} / {'?' if total is None else total}"]
    if rate is not None:
        parts.append(f"{rate:.1f}/s")
    if eta is not None:
        parts.append(f"ETA {duration(eta)}")
    return " · ".join(parts)


def badge(status: str | None) -> str:
    if not status:
        return '<span class="badge">no job yet</span>'
    return f'<span class="badge status-{e(status)}">{e(status.replace("_", " ").lower())}</span>'


def csrf_field(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(csrf)}">'


def job_widget(job: dict[str, Any] | None, *, csrf: str, back: str) -> str:
    """A job's status, bar and Cancel button; console.js keeps it up to date by job or page id."""
    if job is None or job.get("id") is None:
        job = {"id": "", "status": "", "done": 0, "total": None}
    active = job["status"] in ACTIVE_JOB_STATUSES
    # done can briefly run ahead of a total that is still being counted: never show > 100 %.
    percent = min(job.get("percent") or 0, 100.0)
    text = (
        progress_text(job["done"], job["total"], job.get("items_per_s"), job.get("eta_s"))
        if job["id"]
        else ""
    )
    error = job.get("error") or ""
    return f"""
    <div class="job" data-job-id="{e(job["id"])}" data-status="{e(job["status"])}">
      {badge(job["status"])}
      <progress class="bar" max="100" value="{percent:.1f}" {"" if job["id"] else "hidden"}
        aria-label="job progress">{percent:.0f} %</progress>
      <span class="percent">{f"{percent:.0f} %" if job["id"] else ""}</span>
      <span class="job-text">{e(text)}</span>
      <span class="job-error" title="{e(error)}">{e(error[:80])}</span>
      <form class="cancel" method="post" action="/ops/jobs/{e(job["id"])}/cancel"
            data-confirm="Cancel this job?" {"" if active else "hidden"}>
        {csrf_field(csrf)}<input type="hidden" name="next" value="{e(back)}">
        <button type="submit" class="danger">Cancel</button>
      </form>
    </div>"""


def job_from_row(row: Any, *, prefix: str = "job_") -> dict[str, Any] | None:
    """The job columns of a page row (or a job row when prefix is '')."""
    job_id = row[f"{prefix}id" if prefix else "id"]
    if job_id is None:
        return None
    return {
        "id": str(job_id),
        "status": row[f"{prefix}status" if prefix else "status"],
        "done": row["synced_contacts"] + row["failed_contacts"],
        "total": row["total_contacts"],
        "percent": float(row["percent"] or 0),
        "items_per_s": None if row["items_per_s"] is None else float(row["items_per_s"]),
        "eta_s": None if row["eta_s"] is None else float(row["eta_s"]),
        "error": row[f"{prefix}error" if prefix else "error"],
    }


def pager(path: str, params: dict[str, str], page_no: int, pages_count: int) -> str:
    if pages_count <= 1:
        return ""

    def link(n: int, label: str, rel: str) -> str:
        query = urlencode({**{k: v for k, v in params.items() if v}, "p": n})
        return f'<a class="button" rel="{rel}" href="{e(path)}?{e(query)}">{label}</a>'

    prev = link(page_no - 1, "← Previous", "prev") if page_no > 1 else ""
    nxt = link(page_no + 1, "Next →", "next") if page_no < pages_count else ""
    return f'<nav class="pager">{prev}<span>Page {page_no} of {pages_count}</span>{nxt}</nav>'


def layout(title: str, body: str, *, csrf: str | None, nav: str = "", notice: str = "") -> str:
    links = ""
    if csrf is not None:

        def item(href: str, key: str, label: str) -> str:
            current = ' aria-current="page"' if key == nav else ""
            return f'<a href="{href}"{current}>{label}</a>'

        pages, stages = item("/ops/", "pages", "Pages"), item("/ops/stages", "stages", "Stage board")
        links = f"""
        <nav class="main">{pages}{stages}</nav>
        <form method="post" action="/ops/logout" class="logout">{csrf_field(csrf)}
          <button type="submit" class="link">Log out</button></form>"""
    flash = f'<p class="notice" role="status">{e(notice)}</p>' if notice else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · leadsync ops</title>
<link rel="stylesheet" href="/ops/static/console.css">
<script src="/ops/static/console.js" defer></script>
</head>
<body>
<header><a class="brand" href="/ops/">leadsync <span>ops</span></a>{links}</header>
<main>
{flash}
{body}
</main>
</body>
</html>"""
