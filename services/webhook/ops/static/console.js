// leadsync ops console: live job progress every 2 s (paused while the tab is hidden), confirmations,
// select-all for bulk sync. Plain JavaScript, no build step.
"use strict";

const POLL_MS = 2000;
const ACTIVE = new Set(["PENDING", "IN_PROGRESS"]);

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  seconds = Math.max(seconds, 0);
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min ${String(Math.round(seconds % 60)).padStart(2, "0")} s`;
  }
  return `${Math.floor(seconds / 3600)} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")} min`;
}

// The same wording as html.progress_text on the server.
function progressText(job) {
  const parts = [`${job.done} / ${job.total === null ? "?" : job.total}`];
  if (job.items_per_s !== null) parts.push(`${job.items_per_s.toFixed(1)}/s`);
  if (job.eta_s !== null) parts.push(`ETA ${duration(job.eta_s)}`);
  return parts.join(" · ");
}

function render(widget, job) {
  const previous = widget.dataset.status;
  widget.dataset.jobId = job.id;
  widget.dataset.status = job.status;
  const badge = widget.querySelector(".badge");
  badge.className = `badge status-${job.status}`;
  badge.textContent = job.status.replace("_", " ").toLowerCase();
  const bar = widget.querySelector("progress");
  // done can briefly run ahead of a total still being counted: never show more than 100 %.
  const percent = Math.min(job.percent || 0, 100);
  bar.hidden = false;
  bar.value = percent;
  bar.textContent = `${Math.round(percent)} %`;
  widget.querySelector(".percent").textContent = `${Math.round(percent)} %`;
  widget.querySelector(".job-text").textContent = progressText(job);
  const error = widget.querySelector(".job-error");
  error.textContent = (job.error || "").slice(0, 80);
  error.title = job.error || "";
  const cancel = widget.querySelector("form.cancel");
  cancel.action = `/ops/jobs/${encodeURIComponent(job.id)}/cancel`;
  cancel.hidden = !ACTIVE.has(job.status);
  const row = widget.closest("tr");
  const sync = row && row.querySelector("button.sync");
  if (sync) sync.disabled = ACTIVE.has(job.status);
  if (previous !== job.status) widget.dispatchEvent(new CustomEvent("job-status", { bubbles: true }));
}

function progressUrl() {
  const params = new URLSearchParams();
  document.querySelectorAll("tr[data-page-id]").forEach((row) => params.append("page", row.dataset.pageId));
  document.querySelectorAll("tr[data-job-row]").forEach((row) => params.append("job", row.dataset.jobRow));
  return params.toString() ? `/ops/api/progress?${params}` : null;
}

// The same wording as html.ago on the server.
function ago(iso) {
  if (!iso) return null;
  const seconds = Math.max((Date.now() - Date.parse(iso)) / 1000, 0);
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    if (seconds >= size) return `${Math.floor(seconds / size)} ${unit} ago`;
  }
  return "just now";
}

function applyPage(page) {
  const row = document.querySelector(`tr[data-page-id="${CSS.escape(page.id)}"]`);
  if (!row) return;
  row.querySelector("td.contacts").textContent = page.contacts;
  const token = row.querySelector("td.token-cell .token");
  token.className = `token token-${page.token_status}`;
  token.textContent = page.token_status === "ok" ? "ok" : "expired";
  if (page.last_synced_at) {
    const time = document.createElement("time");
    time.dateTime = page.last_synced_at;
    time.title = page.last_synced_at;
    time.textContent = ago(page.last_synced_at);
    row.querySelector("td.last-sync").replaceChildren(time);
  }
}

function apply(jobs) {
  for (const job of jobs) {
    document.querySelectorAll(`tr[data-job-row="${CSS.escape(job.id)}"] .job`).forEach((w) => render(w, job));
    document.querySelectorAll(`tr[data-page-id="${CSS.escape(job.page_id)}"] .job`).forEach((w) => render(w, job));
  }
}

// One request at a time; none while the tab is hidden; one at once when it comes back.
const poller = {
  timer: null,
  inFlight: false,
  schedule() {
    if (this.timer === null && !this.inFlight && !document.hidden) {
      this.timer = setTimeout(() => this.tick(), POLL_MS);
    }
  },
  pause() {
    clearTimeout(this.timer);
    this.timer = null;
  },
  now() {
    this.pause();
    this.tick();
  },
  async tick() {
    this.timer = null;
    const url = progressUrl();
    if (url === null || this.inFlight || document.hidden) return;
    this.inFlight = true;
    document.body.classList.remove("stale");
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.status === 401) {
        window.location.assign(`/ops/login?next=${encodeURIComponent(location.pathname + location.search)}`);
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      apply(data.jobs);
      (data.pages || []).forEach(applyPage);
    } catch (err) {
      document.body.classList.add("stale");  // keep the last figures, try again next tick
    } finally {
      this.inFlight = false;
      this.schedule();
    }
  },
};

document.addEventListener("visibilitychange", () => (document.hidden ? poller.pause() : poller.now()));
window.addEventListener("focus", () => {
  if (!document.hidden && !poller.inFlight) poller.now();
});

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

document.addEventListener("change", (event) => {
  if (!event.target.classList.contains("select-all")) return;
  document.querySelectorAll('input[name="page_id"]').forEach((box) => { box.checked = event.target.checked; });
});

document.addEventListener("DOMContentLoaded", () => poller.schedule());
