"""`python -m services.assigner`: consume contact.scored and place contacts in stages."""

from services.assigner.service import build
from services.assigner.settings import AssignerSettings
from shared.runtime import consumer_main

if __name__ == "__main__":
    consumer_main("assigner", AssignerSettings, build)
