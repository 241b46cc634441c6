"""Custom Rasa NLU graph components (imported by the Rasa server from the repo root, ``.venv-rasa``)."""
