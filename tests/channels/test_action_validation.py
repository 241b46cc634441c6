"""channels.action_validation in Rasa's own environment: the same verdicts and errors as Rasa, without
re-checking the schema on every action call (the server's largest CPU cost under load before it)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RASA_PYTHON = REPO / ".venv-rasa" / "bin" / "python"

SCRIPT = r"""
import json, sys
import jsonschema
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

valid = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "topic", "value": "labour"}],
     "responses": [{"text": "关于拖欠工资…", "buttons": [{"title": "有帮助", "payload": "/affirm"}]}]},
]
invalid = [{"events": [{"event": 5}], "responses": []}, {"events": [], "responses": "text"}, {"events": {}}]
action = RemoteAction("action_answer_legal_question", EndpointConfig("http://127.0.0.1:9"))

def verdicts():
    out = []
    for result in valid + invalid:
        try:
            out.append(["ok", action._validate_action_result(result)])
        except jsonschema.ValidationError as error:
            out.append(["error", error.message])
    return out

before = verdicts()
calls = []
rasa_validate = jsonschema.validate
jsonschema.validate = lambda *a, **k: (calls.append(1), rasa_validate(*a, **k))[1]
import channels.rest  # installs it, as every Rasa process of ours does through credentials.yml
after = verdicts()
valid_calls = len(calls)
for _ in range(20):
    action._validate_action_result(valid[1])
print(json.dumps({"before": before, "after": after, "calls_for_all": valid_calls,
                  "calls_for_20_valid": len(calls) - valid_calls}))
"""


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="the Rasa environment is made by `make setup`")
def test_same_verdicts_and_errors_as_rasa_without_revalidating_the_schema():
    done = subprocess.run([str(RASA_PYTHON), "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["after"] == result["before"]
    assert [kind for kind, _ in result["after"]] == ["ok", "ok", "error", "error", "error"]
    assert all("Failed to validate Action server response" in message for _, message in result["after"][2:])
    # Rasa's jsonschema.validate (schema re-check + new validator) now runs only for the invalid answers.
    assert result["calls_for_all"] == 3
    assert result["calls_for_20_valid"] == 0
