"""Shared pytest fixtures."""

from __future__ import annotations

import os

import pytest

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """Base URL of the PostgreSQL test database (``LEGAL_TEST_POSTGRES_URL``).

    Defaults to a local server; set ``LEGAL_TEST_POSTGRES_URL=`` (empty) to skip the tests marked
    ``postgres`` on a machine without PostgreSQL.
    """
    url = os.environ.get("LEGAL_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL).strip()
    if not url:
        pytest.skip("LEGAL_TEST_POSTGRES_URL is empty: PostgreSQL tests disabled")
    return url
