"""The pipeline the end-to-end tests create: every stage type, default ranges generated."""

from __future__ import annotations

STAGES = [("New", "LEAD"), ("Warm", "LEAD"), ("Engaged", "LEAD"), ("Qualified", "IN_PROGRESS"),
          ("Negotiation", "IN_PROGRESS"), ("Won", "WON"), ("Lost", "LOST"), ("Archive", "ARCHIVED")]
# Default ranges become New 0-10, Warm 11-20, Engaged 21-30, Qualified 31-55, Negotiation 56-80,
# Won 81-100, Lost 0-20, Archive 0-100 (never chosen).
