"""`python -m services.backfill`: run backfill jobs from backfill.requested, and the scheduler."""

from services.backfill.service import build
from services.backfill.settings import BackfillSettings
from shared.runtime import consumer_main

if __name__ == "__main__":
    consumer_main("backfill", BackfillSettings, build)
