"""nginx's configuration for production mode: ``deploy/nginx.conf.template`` with its values filled in.

``scripts/run_prod.sh`` runs ``python deploy/nginx_conf.py`` with the values in the environment
(the names in ``PLACEHOLDERS``) and writes the output to its run directory; the tests render it the
same way and check it with ``nginx -t``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
PLACEHOLDERS = (
    "RUN_DIR", "LOG_DIR", "PROD_HOST", "PROD_PORT", "STAFF_PORT", "ACTIONS_PROXY_PORT", "RASA_SERVERS",
    "ACTION_SERVERS", "TRY_AGAIN_TEXT",
)  # fmt: skip


def render(values: dict[str, str]) -> str:
    """The template with every ``@NAME@`` of ``PLACEHOLDERS`` replaced; a missing value is an error."""
    missing = [name for name in PLACEHOLDERS if name not in values]
    if missing:
        raise KeyError(f"nginx configuration needs {', '.join(missing)}")
    pattern = re.compile("@(" + "|".join(PLACEHOLDERS) + ")@")
    return pattern.sub(lambda m: values[m.group(1)].rstrip("\n"), TEMPLATE.read_text(encoding="utf-8"))


if __name__ == "__main__":
    sys.stdout.write(render({name: os.environ[name] for name in PLACEHOLDERS if name in os.environ}))
