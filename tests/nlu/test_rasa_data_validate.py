"""`rasa data validate` on the real training data, domain and config (Rasa's own consistency checks)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RASA = REPO / ".venv-rasa" / "bin" / "rasa"


@pytest.mark.skipif(not RASA.exists(), reason="the Rasa environment is made by `make setup`")
def test_rasa_data_validate_passes():
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [str(RASA), "data", "validate", "--domain", "domain.yml", "--data", "bot", "--config", "config.yml"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "contradicting" not in output.lower()
