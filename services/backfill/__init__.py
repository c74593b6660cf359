"""The backfill service: pulls existing conversations from the Graph API as jobs."""
