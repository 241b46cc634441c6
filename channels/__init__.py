"""Custom Rasa input channels. They run inside the Rasa server (``.venv-rasa``) and may use only
what Rasa 3.6 ships (Sanic 21.12)."""
