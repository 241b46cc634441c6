"""The Kubernetes manifests (deploy/k8s/) against Kubernetes' own schemas, and the production topology in them.

``kubernetes-validate`` checks every document against the OpenAPI schema of the Kubernetes version
it ships (strict: unknown fields are errors). The cluster itself was never run here; what ran on
this machine is ``make run-prod`` (tests/e2e/test_production.py). Also checked: the nginx
configuration template is accepted by ``nginx -t`` once filled in, and pools no connections to
the servers it posts to.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from deploy.nginx_conf import TEMPLATE, render

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
K8S_VERSION = "1.30.0"


def documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [(path.name, d) for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in documents() if d["kind"] == kind}


@pytest.mark.parametrize("name, doc", documents(), ids=lambda v: v if isinstance(v, str) else v.get("kind"))
def test_every_document_is_valid_kubernetes(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_an_invalid_document_is_refused() -> None:
    broken = dict(by_kind("Deployment")["legal-assistant-rasa"])
    broken["spec"] = {**broken["spec"], "replicas": "two"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_topology_matches_production_mode() -> None:
    deployments = by_kind("Deployment")
    assert deployments["legal-assistant-rasa"]["spec"]["replicas"] >= 2
    assert deployments["legal-assistant-actions"]["spec"]["replicas"] >= 2
    rasa = deployments["legal-assistant-rasa"]["spec"]["template"]["spec"]["containers"][0]
    assert "--auth-token" in rasa["args"] and "endpoints.production.yml" in rasa["args"]
    config = by_kind("ConfigMap")["legal-assistant-config"]["data"]
    assert config["RASA_ENDPOINTS"] == "endpoints.production.yml"
    # Every Service selects the pods of a workload that exists.
    labels = [
        d["spec"]["template"]["metadata"]["labels"] for d in [*deployments.values(), *by_kind("StatefulSet").values()]
    ]
    for service in by_kind("Service").values():
        assert any(service["spec"]["selector"].items() <= pod.items() for pod in labels), service["metadata"]["name"]
    # Residents reach only the webhooks of Rasa; its HTTP API is not routed.
    paths = {
        p["path"]: p["backend"]["service"]["name"]
        for r in by_kind("Ingress")["legal-assistant"]["spec"]["rules"]
        for p in r["http"]["paths"]
    }
    assert paths == {"/webhooks/": "legal-assistant-rasa", "/": "legal-assistant-staff"}


def test_secrets_come_from_a_secret_never_from_the_manifests() -> None:
    secret_names = {
        "RASA_TOKEN",
        "LEGAL_SENDER_SALT",
        "LEGAL_DB_URL",
        "WECHAT_SECRET",
        "WECHAT_TOKEN",
        "WECHAT_AES_KEY",
        "STAFF_WEBHOOK_SECRET",
        "SMTP_PASSWORD",
    }
    assert not by_kind("Secret"), "no Secret with values in the repository"
    assert not secret_names & set(by_kind("ConfigMap")["legal-assistant-config"]["data"])
    for name, doc in documents():
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for var in container.get("env", []):
                if var["name"] in secret_names:
                    assert "secretKeyRef" in var.get("valueFrom", {}), (name, var["name"])
                    assert "value" not in var


@pytest.mark.skipif(
    not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()), reason="nginx: scripts/ensure_nginx.sh"
)
def test_nginx_template_is_a_valid_configuration(tmp_path: Path) -> None:
    values = {
        "RUN_DIR": str(tmp_path),
        "LOG_DIR": str(tmp_path),
        "PROD_HOST": "127.0.0.1",
        "PROD_PORT": "18080",
        "STAFF_PORT": "15080",
        "ACTIONS_PROXY_PORT": "18081",
        "TRY_AGAIN_TEXT": "请稍后再试",
        "RASA_SERVERS": "server 127.0.0.1:15005;\nserver 127.0.0.1:15006;",
        "ACTION_SERVERS": "server 127.0.0.1:15055;",
    }
    conf = tmp_path / "nginx.conf"
    conf.write_text(render(values), encoding="utf-8")
    (tmp_path / "tmp").mkdir()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    result = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-e", str(tmp_path / "error.log")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_nginx_pools_no_connections_to_servers_that_get_posts() -> None:
    """nginx passes a POST to the next server only when it was not written: on a connection pooled to a
    server that has since died it is written, reset, and lost (the resident's message to a Rasa process,
    Rasa's call of an action). Without ``keepalive`` each goes on a fresh connection, refused by a dead
    server before anything is sent, so nginx tries the other one."""
    upstreams = dict(re.findall(r"upstream (\w+) \{(.*?)\}", TEMPLATE.read_text(encoding="utf-8"), re.S))
    assert {"rasa", "actions"} <= upstreams.keys(), upstreams.keys()
    for name in ("rasa", "actions"):
        assert not re.search(r"^\s*keepalive\b", upstreams[name], re.M), name
