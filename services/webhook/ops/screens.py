"""The console's screens: login, pages, one page's jobs, the stage board and a contact's log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from services.webhook.ops import charts
from services.webhook.ops.html import (
    DASH,
    ago,
    badge,
    csrf_field,
    duration,
    e,
    job_from_row,
    job_widget,
    layout,
    pager,
)
from shared.settlement import MOVE_LABELS
from shared.vocabulary import ACTIVE_JOB_STATUSES, JobKind, JobStatus


def login(*, next_path: str, error: str = "") -> str:
    alert = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    body = f"""
<section class="login">
  <h1>Sign in</h1>
  <p class="muted">Enter the service's ADMIN_TOKEN. It is checked once; the browser keeps only
  a signed session cookie.</p>
  {alert}
  <form method="post" action="/ops/login">
    <input type="hidden" name="next" value="{e(next_path)}">
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
    <button type="submit" class="primary">Sign in</button>
  </form>
</section>"""
    return layout("Sign in", body, csrf=None)


def _platforms(row: Any) -> str:
    tags = ['<span class="tag messenger">Messenger</span>']
    if row["instagram_account_id"]:
        tags.append('<span class="tag instagram">Instagram</span>')
    return "".join(tags)


def _token(status: str) -> str:
    return f'<span class="token token-{e(status)}">{"ok" if status == "ok" else "expired"}</span>'


def _health(row: Any) -> str:
    status = row["health_status"]
    label = status.replace("_", " ")
    reason = (
        f'<div class="muted small health-reason">{e(row["health_reason"])}</div>'
        if status != "ok" and row["health_reason"]
        else ""
    )
    action = ""
    if status != "ok":
        action = (
            f'<a class="button reconnect" href="/ops/connect">'
            f"{'Connect' if status == 'disconnected' else 'Reconnect'}</a>"
        )
    return f'<span class="health health-{e(status)}">{e(label)}</span>{reason}{action}'


def connect_bar(*, meta_ready: bool, subscription_warning: str) -> str:
    """The "Connect pages" button, or how to enable it; and the app-level subscription warning."""
    if not meta_ready:
        button = (
            '<p class="muted connect-hint">To connect pages with Facebook Login, set '
            "<code>META_APP_ID</code> and <code>META_APP_SECRET</code> on the webhook service "
            "(see docs/operations.md).</p>"
        )
    else:
        button = '<a class="button primary connect" href="/ops/connect">Connect pages</a>'
    warning = (
        f'<p class="warning" role="status">{e(subscription_warning)}</p>' if subscription_warning else ""
    )
    return button + warning


def pages(
    rows: list[Any],
    *,
    total: int,
    search: str,
    page_no: int,
    pages_count: int,
    now: datetime,
    csrf: str,
    back: str,
    notice: str,
    connect: str = "",
) -> str:
    lines = []
    for row in rows:
        job = job_from_row(row)
        pid = e(row["id"])
        lines.append(f"""
<tr data-page-id="{pid}">
  <td><input type="checkbox" name="page_id" value="{pid}" form="bulk"
             aria-label="select {e(row["name"])}"></td>
  <td><a href="/ops/pages/{e(quote(row["id"], safe=""))}" class="page-name">{e(row["name"])}</a>
      <div class="muted small">{pid}</div></td>
  <td>{_platforms(row)}</td>
  <td class="token-cell">{_token(row["token_status"])}</td>
  <td class="health-cell">{_health(row)}</td>
  <td class="last-sync">{ago(row["last_synced_at"], now)}</td>
  <td>{e(row["pipeline_name"]) if row["pipeline_name"] else '<span class="muted">none</span>'}</td>
  <td class="num contacts">{row["contacts"]}</td>
  <td class="job-cell">{job_widget(job, csrf=csrf, back=back)}</td>
  <td><form method="post" action="/ops/pages/{e(quote(row["id"], safe=""))}/sync">
        {csrf_field(csrf)}<input type="hidden" name="next" value="{e(back)}">
        <button type="submit" class="primary sync"
          {"disabled" if job and job["status"] in ACTIVE_JOB_STATUSES else ""}>Sync</button></form></td>
</tr>""")
    empty = '<tr><td colspan="10" class="empty">No page matches.</td></tr>' if not rows else ""
    body = f"""
<div class="toolbar">
  <h1>Pages <span class="count">{total}</span></h1>
  <form method="get" action="/ops/" class="search" role="search">
    <input type="search" name="q" value="{e(search)}" placeholder="Search by page name"
           aria-label="Search by page name">
    <button type="submit">Search</button>
  </form>
  <form method="post" action="/ops/sync" id="bulk" class="bulk">
    {csrf_field(csrf)}<input type="hidden" name="next" value="{e(back)}">
    <select name="mode" aria-label="sync mode">
      <option value="incremental">Incremental</option><option value="full">Full</option>
    </select>
    <button type="submit" class="primary">Sync selected</button>
    <button type="submit" formaction="/ops/disconnect" class="disconnect">Disconnect selected</button>
  </form>
  {connect}
</div>
<table class="pages">
<thead><tr><th><input type="checkbox" class="select-all" aria-label="select all"></th>
  <th>Page</th><th>Platforms</th><th>Token</th><th>Health</th><th>Last sync</th><th>Auto pipeline</th>
  <th class="num">Contacts</th><th>Latest job</th><th></th></tr></thead>
<tbody>{"".join(lines)}{empty}</tbody>
</table>
{pager("/ops/", {"q": search}, page_no, pages_count)}"""
    return layout("Pages", body, csrf=csrf, nav="pages", notice=notice)


def _rescore_form(pid: str, *, csrf: str, back: str, dry_run: bool, version: str | None, label: str) -> str:
    field = (
        f'<input type="hidden" name="prompt_version" value="{e(version or "")}">'
        if not dry_run
        else '<input type="text" name="prompt_version" placeholder="prompt version (optional)" '
        'aria-label="prompt version" maxlength="100">'
    )
    return f"""<form method="post" action="/ops/pages/{pid}/rescore" class="rescore">
      {csrf_field(csrf)}<input type="hidden" name="next" value="{e(back)}">
      <input type="hidden" name="dry_run" value="{"1" if dry_run else "0"}">{field}
      <button type="submit" class="{"primary" if not dry_run else ""}">{label}</button></form>"""


def _move_row(x: dict[str, Any]) -> str:
    move = MOVE_LABELS.get(x["move"], x["move"]) + (f" ({x['reason']})" if x["move"] == "blocked" else "")
    before = x["score_before"] if x["score_before"] is not None else DASH
    return (
        f'<tr data-move="{e(x["move"])}"><td>{e(x["name"] or x["external_id"])}</td>'
        f"<td>{e(move)}</td><td>{e(x['from'] or DASH)}</td><td>{e(x['to'] or DASH)}</td>"
        f"<td>{e(before)} → {e(x['score_after'])}</td></tr>"
    )


def _moves(result: dict[str, Any]) -> str:
    counts = "".join(
        f'<li data-move="{m}"><strong>{result["moves"].get(m, 0)}</strong> {MOVE_LABELS[m]}</li>'
        for m in MOVE_LABELS
    )
    rows = "".join(_move_row(x) for x in result["examples"])
    table = (
        (
            f'<table class="moves"><thead><tr><th>Contact</th><th>Move</th><th>From</th><th>To</th>'
            f"<th>Score</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        if rows
        else ""
    )
    return f'<ul class="move-counts">{counts}</ul>{table}'


def _rescore(pid: str, job: Any | None, *, now: datetime, csrf: str, back: str) -> str:
    """The page's latest rescore: a dry run's moves next to the Apply button that makes them."""
    intro = (
        '<p class="muted">Score the stored conversations again (after a prompt or stage '
        "change). A dry run only shows what would move.</p>"
    )
    start = _rescore_form(pid, csrf=csrf, back=back, dry_run=True, version=None, label="Dry run")
    if job is None:
        return intro + start
    params = job["params"] or {}
    dry = bool(params.get("dry_run"))
    version = params.get("prompt_version")
    what = ("Dry run" if dry else "Re-score") + (f" with {version}" if version else "")
    head = f"<h3>{e(what)} {ago(job['created_at'], now)} {badge(job['status'])}</h3>"
    if job["status"] == JobStatus.FAILED:
        body = f'<p class="error">{e(job["error"] or "failed")}</p>'
    elif job["status"] != JobStatus.COMPLETED or job["result"] is None:
        body = (
            '<p class="muted">Running: see its progress in the job history.</p>'
            if job["status"] in ACTIVE_JOB_STATUSES
            else ""
        )
    else:
        verb = "would move" if dry else "moved"
        body = f"<p>{job['synced_contacts']} conversations rescored; what {verb}:</p>" + _moves(job["result"])
        if dry:
            body += _rescore_form(pid, csrf=csrf, back=back, dry_run=False, version=version, label="Apply")
    return f'{intro}{start}<div class="rescore-result" data-job-id="{e(job["id"])}">{head}{body}</div>'


def _kind(job: Any) -> str:
    if job["kind"] == JobKind.RESCORE and (job["params"] or {}).get("dry_run"):
        return "rescore (dry run)"
    return str(job["kind"]).lower()


def page_detail(
    row: Any, jobs: list[Any], *, now: datetime, csrf: str, back: str, notice: str, rescore: Any | None = None
) -> str:
    history = []
    for job in jobs:
        widget = job_widget(job_from_row(job, prefix=""), csrf=csrf, back=back)
        took = None
        if job["started_at"] is not None:
            took = ((job["completed_at"] or now) - job["started_at"]).total_seconds()
        errors = job["errors"] or []
        count = max(job["errors_count"] or 0, len(errors))
        detail = "".join(
            f"<li><code>{e(err.get('platform'))}:{e(err.get('id'))}</code> {e(err.get('error'))}</li>"
            for err in errors[:20]
        )
        more = (
            f'<li><a href="/ops/jobs/{e(job["id"])}/items">all {count} failed conversations →</a></li>'
            if count > 20
            else ""
        )
        failures = (
            f"<details><summary>{count} failed conversation"
            f"{'s' if count != 1 else ''}</summary><ul>{detail}{more}</ul></details>"
            if errors
            else ""
        )
        history.append(f"""
<tr data-job-row="{e(job["id"])}">
  <td>{ago(job["created_at"], now)}</td><td>{e(_kind(job))}</td>
  <td class="job-cell">{widget}{failures}</td><td>{duration(took)}</td>
</tr>""")
    empty = '<tr><td colspan="4" class="empty">No job yet.</td></tr>' if not jobs else ""
    pid = e(quote(row["id"], safe=""))
    buttons = "".join(
        f"""<form method="post" action="/ops/pages/{pid}/sync">{csrf_field(csrf)}
        <input type="hidden" name="next" value="{e(back)}"><input type="hidden" name="mode" value="{mode}">
        <button type="submit" class="primary">{label}</button></form>"""
        for mode, label in (("incremental", "Sync new conversations"), ("full", "Full sync"))
    ) + (
        f"""<form method="post" action="/ops/pages/{pid}/disconnect">{csrf_field(csrf)}
        <button type="submit" class="disconnect">Disconnect</button></form>"""
        if row["health_status"] != "disconnected"
        else ""
    )
    body = f"""
<p class="crumbs"><a href="/ops/">Pages</a> / {e(row["name"])}</p>
<div class="toolbar"><h1>{e(row["name"])}</h1><div class="actions">{buttons}</div></div>
<dl class="facts">
  <div><dt>Page id</dt><dd>{e(row["id"])}</dd></div>
  <div><dt>Platforms</dt><dd>{_platforms(row)}</dd></div>
  <div><dt>Token</dt><dd>{_token(row["token_status"])}</dd></div>
  <div><dt>Health</dt><dd class="health-cell">{_health(row)}</dd></div>
  <div><dt>Last sync</dt><dd>{ago(row["last_synced_at"], now)}</dd></div>
  <div><dt>Auto pipeline</dt><dd>{e(row["pipeline_name"] or "none")}
      <span class="muted small">{e(row["auto_pipeline_mode"].replace("_", " ").lower())}</span></dd></div>
  <div><dt>Auto sync</dt>
      <dd>{"every " + duration(row["sync_interval_s"]) if row["auto_sync"] else "off"}</dd></div>
  <div><dt>Contacts</dt><dd>{row["contacts"]}</dd></div>
</dl>
<h2>Re-score</h2>
<section class="rescore">{_rescore(pid, rescore, now=now, csrf=csrf, back=back)}</section>
<h2>Job history</h2>
<table class="jobs"><thead><tr><th>Created</th><th>Kind</th><th>Progress</th><th>Took</th></tr></thead>
<tbody>{"".join(history)}{empty}</tbody></table>"""
    return layout(row["name"], body, csrf=csrf, nav="pages", notice=notice)


def stage_board(
    pipelines: list[Any],
    selected: Any | None,
    board: list[tuple[Any, list[Any]]],
    *,
    per_stage: int,
    csrf: str,
    calibration: list[dict[str, Any]] | None = None,
) -> str:
    options = "".join(
        f'<option value="{e(p["id"])}" {"selected" if selected and p["id"] == selected["id"] else ""}>'
        f"{e(p['name'])} ({p['contacts']})</option>"
        for p in pipelines
    )
    picker = (
        f"""<form method="get" action="/ops/stages" class="search">
      <select name="pipeline" aria-label="pipeline">{options}</select>
      <button type="submit">Show</button></form>"""
        if pipelines
        else ""
    )
    columns = []
    for stage, cards in board:
        items = "".join(
            f"""<li class="card"><a href="/ops/contacts/{e(c["id"])}">
              <span class="score score-{_band(c["lead_score"])}">{e(c["lead_score"] or DASH)}</span>
              <strong>{e(c["name"] or c["external_id"])}</strong>
              <span class="tag {e(c["platform"])}">{e(c["platform"])}</span>
              {
                '<span class="tag fallback" title="scored by the fallback scorer">fallback</span>'
                if c["used_fallback"]
                else ""
            }
              <p>{e((c["ai_summary"] or "")[:160])}</p></a></li>"""
            for c in cards
        )
        more = stage["contacts"] - len(cards)
        columns.append(f"""
<section class="stage stage-{e(stage["type"])}" data-stage="{e(stage["name"])}">
  <h2>{e(stage["name"])} <span class="count">{stage["contacts"]}</span></h2>
  <p class="muted small">{e(stage["type"].replace("_", " ").lower())} ·
     score {stage["lead_score_min"]}{DASH}{stage["lead_score_max"]}</p>
  <ul>{items}</ul>
  {f'<p class="muted small">… and {more} more (top {per_stage} by score shown)</p>' if more > 0 else ""}
</section>""")
    if not pipelines:
        content = '<p class="empty">No pipeline yet: create one with POST /api/pipelines.</p>'
    else:
        content = f'<div class="board">{"".join(columns)}</div>'
        if calibration is not None:
            content += f"""<section class="calibration"><h2>Do the scores predict outcomes?</h2>
  <p class="muted small">For each score band: the share of contacts scored in it (before their
  outcome) that were won, lost or are still open.</p>{charts.calibration(calibration)}
  <p class="legend small"><span class="key won"></span> won <span class="key lost"></span> lost
  <span class="key open"></span> open</p></section>"""
    title = f"Stage board · {selected['name']}" if selected else "Stage board"
    body = f"""<div class="toolbar"><h1>{e(title)}</h1>{picker}</div>{content}"""
    return layout("Stage board", body, csrf=csrf, nav="stages")


def _band(score: int | None) -> str:
    if score is None:
        return "none"
    return "hot" if score >= 70 else "warm" if score >= 40 else "cold"


def _message(n: int, m: Any, cited: bool, now: datetime) -> str:
    """One message of the conversation; the current score's evidence is highlighted."""
    side = "from-page" if m["from_page"] else "from-customer"
    text = "(unsent)" if m["deleted"] else m["text"] or ", ".join(m["attachments"] or [])
    return (
        f'<li id="msg-{e(m["mid"])}" class="{side}{" cited" if cited else ""}" '
        f'data-mid="{e(m["mid"])}"><p><span class="n">#{n}</span> {e(text)}</p>'
        f'<span class="small muted">{ago(m["sent_at"], now)}</span></li>'
    )


def _why(latest: Any | None, names: dict[str, int]) -> str:
    """The current score's signals, each with links to the messages it cites."""
    if latest is None:
        return '<p class="muted">No analysis in the score ledger yet.</p>'

    def cites(mids: list[str]) -> str:
        links = [f'<a class="cite" href="#msg-{e(m)}">#{names[m]}</a>' for m in mids if m in names]
        return f' <span class="cites">{" ".join(links)}</span>' if links else ""

    items = "".join(
        f'<li class="signal" data-mids="{e(" ".join(sig["mids"]))}">'
        f'<span class="points">{sig["points"]:+d}</span> {e(sig["signal"])}{cites(sig["mids"])}</li>'
        for sig in latest["signals"] or []
    )
    evidence = sorted(latest["evidence"] or [], key=lambda m: names.get(m, 0))
    source = "fallback scorer" if latest["used_fallback"] else f"model {latest['model']}"
    cited = f'<p class="small">Messages the {e(source)} cites:{cites(evidence)}</p>' if evidence else ""
    listed = f'<ul class="signals">{items}</ul>' if items else ""
    empty = "" if listed or cited else '<p class="muted">No signal and no message cited.</p>'
    return (
        f"{listed}{cited}{empty}"
        f'<p class="small muted">{e(latest["lead_score"])} · {e(latest["lead_status"])} · '
        f"{e(source)} · prompt {e(latest['prompt_version'] or DASH)}</p>"
    )


def contact(
    row: Any,
    activities: list[Any],
    messages: list[Any],
    *,
    now: datetime,
    csrf: str,
    history: list[Any] | None = None,
) -> str:
    history = history or []
    latest = history[-1] if history else None
    cited: set[str] = set()
    if latest is not None:
        cited = set(latest["evidence"] or []) | {m for sig in latest["signals"] or [] for m in sig["mids"]}
    names = {m["mid"]: i for i, m in enumerate(messages, start=1)}
    log = []
    for a in activities:
        details: dict[str, Any] = a["details"] or {}
        if a["type"] == "STAGE_CHANGED":
            what = f"{e(a['from_stage'] or '(none)')} → <strong>{e(a['to_stage'])}</strong>"
        else:
            what = e(a["type"].replace("_", " ").lower())
        extra = ", ".join(f"{e(k)}: {e(v)}" for k, v in details.items() if v not in (None, ""))
        log.append(f"""<li><span class="when">{ago(a["created_at"], now)}</span>
          <span class="what">{what}</span>
          <span class="muted">score {e(a["lead_score"] if a["lead_score"] is not None else DASH)}</span>
          <div class="small muted">{extra}</div></li>""")
    convo = "".join(_message(n, m, m["mid"] in cited, now) for n, m in enumerate(messages, start=1))
    points = [charts.Point(h["analyzed_through"], h["lead_score"], h["lead_status"]) for h in history]
    body = f"""
<p class="crumbs"><a href="/ops/stages?pipeline={e(row["pipeline_id"] or "")}">Stage board</a> /
  {e(row["name"] or row["external_id"])}</p>
<div class="toolbar"><h1>{e(row["name"] or row["external_id"])}</h1>
  <span class="score score-{_band(row["lead_score"])}">{e(row["lead_score"] or DASH)}</span></div>
<dl class="facts">
  <div><dt>Stage</dt><dd>{e(row["stage_name"] or "not placed")}
    <span class="muted small">{e(row["pipeline_name"] or "")}</span></dd></div>
  <div><dt>Status</dt><dd>{badge(row["lead_status"])}</dd></div>
  <div><dt>Page</dt><dd>{e(row["page_name"] or row["page_id"])}
    <span class="tag {e(row["platform"])}">{e(row["platform"])}</span></dd></div>
  <div><dt>Confidence</dt><dd>{e(row["ai_confidence"] if row["ai_confidence"] is not None else DASH)}
    {'<span class="tag fallback">fallback scorer</span>' if row["used_fallback"] else ""}</dd></div>
  <div><dt>Last message</dt><dd>{ago(row["last_message_at"], now)}</dd></div>
</dl>
<section class="analysis"><h2>Summary</h2><p>{e(row["ai_summary"] or DASH)}</p>
  <details><summary>Reasoning</summary><p>{e(row["ai_reasoning"] or DASH)}</p></details></section>
<div class="columns">
  <section class="history"><h2>Score history <span class="count">{len(history)}</span></h2>
    {charts.score_history(points)}</section>
  <section class="why"><h2>Why this score</h2>{_why(latest, names)}</section>
</div>
<div class="columns">
  <section><h2>Activity</h2>
    <ol class="activity">{"".join(log) or '<li class="empty">No activity yet.</li>'}</ol></section>
  <section><h2>Conversation</h2>
    <ol class="conversation">{convo or '<li class="empty">No message stored.</li>'}</ol></section>
</div>"""
    return layout(row["name"] or "Contact", body, csrf=csrf, nav="stages")


def job_items(job: dict[str, Any], items: list[dict[str, Any]], *, next_cursor: str | None, csrf: str) -> str:
    """A job's failed conversations, a page at a time (what GET /api/jobs/{id}/items serves)."""
    rows = "".join(
        f"<tr><td>{e(i['platform'])}</td><td><code>{e(i['contact_external_id'])}</code></td>"
        f"<td>{e(i['error'])}</td></tr>"
        for i in items
    )
    empty = '<tr><td colspan="3" class="empty">No failed conversation.</td></tr>' if not items else ""
    nxt = (
        f'<nav class="pager"><a class="button" rel="next" href="/ops/jobs/{e(job["id"])}/items?'
        f'cursor={e(quote(next_cursor, safe=""))}">Next →</a></nav>'
        if next_cursor
        else ""
    )
    body = f"""
<p class="crumbs"><a href="/ops/">Pages</a> /
  <a href="/ops/pages/{e(quote(job["page_id"], safe=""))}">{e(job["page_id"])}</a> / job</p>
<div class="toolbar"><h1>Failed conversations
  <span class="count">{e(job["failed_contacts"])}</span></h1></div>
<p class="muted small">Also in the admin API:
  <code>GET /api/jobs/{e(job["id"])}/items?outcome=FAILED</code></p>
<table class="items"><thead><tr><th>Platform</th><th>Customer</th><th>Error</th></tr></thead>
<tbody>{rows}{empty}</tbody></table>
{nxt}"""
    return layout("Failed conversations", body, csrf=csrf, nav="pages")
