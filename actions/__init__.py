"""Custom actions of the legal-service assistant, served by rasa_sdk (one action per module).

rasa_sdk's Sanic server imports this package twice: in the main process, which only registers the
actions, and in the worker process that serves them. The worker prepares the database and its
outbox replayer and loads the search engine (``ACTIONS_PRELOAD=0`` defers the engine to the first
question), then watches for a newer index to swap in; the main process stays small.
"""

import logging
import os

from actions.config import PRELOAD
from actions.services import prepare_database, warm_up_in_background, watch_index_in_background

# Only in the serving worker: in the main process, building the BM25 index would also make "fork"
# the default multiprocessing start method (bm25s asks for it), and Sanic then refuses to start.
if os.environ.get("SANIC_WORKER_NAME"):
    # The worker is a spawned process: rasa_sdk's logging set-up stayed in the main process, so without this
    # only warnings reach the server's log ("search engine ready", "search index swapped" are INFO).
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-8s %(name)s  - %(message)s")
    prepare_database()
    if PRELOAD:
        warm_up_in_background()
    watch_index_in_background()  # a newer index (e.g. make run's full build) is swapped in while serving
