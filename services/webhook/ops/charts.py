"""Small inline SVG charts for the console (no script, no CDN: the console's CSP allows neither).

Colours and strokes come from classes in console.css; the charts are pure functions of their data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.webhook.ops.html import e

WIDTH, HEIGHT = 640, 190
LEFT, RIGHT, TOP, BOTTOM = 42, 14, 16, 30


@dataclass(frozen=True)
class Point:
    when: datetime | None
    score: int
    status: str


def _y(score: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - score / 100)


def _stamp(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M") if when else "?"


def score_history(points: Sequence[Point]) -> str:
    """Score over time, one dot per analysis (oldest left), WON and LOST marked."""
    if not points:
        return '<p class="empty">No analysis yet.</p>'
    span = WIDTH - LEFT - RIGHT
    step = span / (len(points) - 1) if len(points) > 1 else 0.0
    xs = [LEFT + (i * step if len(points) > 1 else span / 2) for i in range(len(points))]
    grid = "".join(
        f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_y(v):.1f}" y2="{_y(v):.1f}"/>'
        f'<text class="axis" x="{LEFT - 6}" y="{_y(v) + 4:.1f}" text-anchor="end">{v}</text>'
        for v in (0, 50, 100)
    )
    line = " ".join(f"{x:.1f},{_y(p.score):.1f}" for x, p in zip(xs, points, strict=True))
    dots = []
    for x, p in zip(xs, points, strict=True):
        kind = {"WON": "won", "LOST": "lost"}.get(p.status, "open")
        label = (
            (
                f'<text class="mark mark-{kind}" x="{x:.1f}" y="{_y(p.score) - 9:.1f}" '
                f'text-anchor="middle">{e(p.status)}</text>'
            )
            if kind != "open"
            else ""
        )
        dots.append(
            f'<g class="point" data-status="{e(p.status)}" data-score="{p.score}">'
            f'<circle class="dot dot-{kind}" cx="{x:.1f}" cy="{_y(p.score):.1f}" '
            f'r="{6 if kind != "open" else 4}"><title>{p.score} · {e(p.status)} · '
            f"{e(_stamp(p.when))}</title></circle>{label}</g>"
        )
    first, last = _stamp(points[0].when), _stamp(points[-1].when)
    axis = (
        f'<text class="axis" x="{LEFT}" y="{HEIGHT - 8}">{e(first)}</text>'
        f'<text class="axis" x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end">{e(last)}</text>'
    )
    return (
        f'<svg class="chart history" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="history-title" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="history-title">Score history: {len(points)} analyses</title>{grid}'
        f'<polyline class="trend" points="{line}"/>{"".join(dots)}{axis}</svg>'
    )


def calibration(bands: Sequence[dict[str, Any]]) -> str:
    """Per score decile, the share of contacts that were won, lost or are still open."""
    if not any(b["contacts"] for b in bands):
        return '<p class="empty">No outcomes yet: contacts need scores and a WON or LOST stage.</p>'
    span = WIDTH - LEFT - RIGHT
    width = span / len(bands)
    bars = []
    for i, band in enumerate(bands):
        x = LEFT + i * width + 4
        w = width - 8
        label = (
            f'<text class="axis" x="{x + w / 2:.1f}" y="{HEIGHT - 8}" '
            f'text-anchor="middle">{e(band["band"])}</text>'
        )
        n = band["contacts"]
        if not n:
            bars.append(
                f'<g class="band" data-band="{e(band["band"])}" data-contacts="0">'
                f'<rect class="bar-none" x="{x:.1f}" y="{_y(100):.1f}" width="{w:.1f}" '
                f'height="{_y(0) - _y(100):.1f}"/>{label}</g>'
            )
            continue
        parts, bottom = [], 0.0
        for kind in ("won", "lost", "open"):
            share = 100 * band[kind] / n
            if share:
                parts.append(
                    f'<rect class="bar-{kind}" x="{x:.1f}" y="{_y(bottom + share):.1f}" '
                    f'width="{w:.1f}" height="{_y(bottom) - _y(bottom + share):.1f}"/>'
                )
            bottom += share
        rate = f"{100 * band['win_rate']:.0f} %" if band["win_rate"] is not None else ""
        shown = f"{rate} of {n}"
        tip = f"{band['band']}: {n} contacts, {band['won']} won, {band['lost']} lost, win rate {rate}"
        bars.append(
            f'<g class="band" data-band="{e(band["band"])}" data-contacts="{n}" '
            f'data-win-rate="{band["win_rate"]}"><title>{e(tip)}</title>{"".join(parts)}'
            f'<text class="rate" x="{x + w / 2:.1f}" y="{_y(100) - 2:.1f}" '
            f'text-anchor="middle">{e(shown)}</text>{label}</g>'
        )
    grid = "".join(
        f'<text class="axis" x="{LEFT - 6}" y="{_y(v) + 4:.1f}" text-anchor="end">{v}%</text>'
        for v in (0, 50, 100)
    )
    return (
        f'<svg class="chart calibration" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="calibration-title" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="calibration-title">Outcomes per score band</title>{grid}'
        f"{''.join(bars)}</svg>"
    )
