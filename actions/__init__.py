"""Custom actions of the legal-service assistant, served by rasa_sdk (one action per module).

Importing the package (the action server does at start) prepares the database and its outbox
replayer, and loads the search engine (``ACTIONS_PRELOAD=0`` defers the engine to the first question).
"""

import logging

from actions.config import PRELOAD
from actions.services import prepare_database, warm_up

prepare_database()
if PRELOAD:
    try:
        warm_up()
    except Exception:  # noqa: BLE001 - the server still starts; the first question retries
        logging.getLogger(__name__).exception("warm-up failed")
