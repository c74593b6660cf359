"""`python -m services.analyzer`: consume conversation.updated.* and publish contact.scored."""

from services.analyzer.service import build
from services.analyzer.settings import AnalyzerSettings
from shared.runtime import consumer_main

if __name__ == "__main__":
    consumer_main("analyzer", AnalyzerSettings, build)
