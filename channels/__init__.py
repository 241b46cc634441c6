"""Custom Rasa input channels (``rest``, ``webchat``) and the tracker stores they rely on. They run
inside the Rasa server (``.venv-rasa``) and may use only what Rasa 3.6 ships (Sanic 21.12);
``channels.checks`` is plain Python."""
