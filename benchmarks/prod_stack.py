"""Production mode on free ports (``scripts/run_prod.sh``), with services the caller controls.

Used by ``tests/e2e/test_production.py`` and ``benchmarks/load.py``.

The stack is the real command (nginx, 2 Rasa servers on ``endpoints.production.yml``, 2 action
servers, the staff app) with:

- its own ``redis-server`` on a free port (append-only file in a temp dir, so a restart keeps the
  conversations), never the shared Redis, so a test may restart it;
- PostgreSQL reached through :class:`TcpProxy`, a TCP forwarder the test can cut and restore, in a
  random schema of the shared test database, never stopping the shared server.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT = float(os.environ.get("E2E_READY_TIMEOUT", "420"))  # Rasa loads in 1–3 min on busy cores


def free_ports(count: int) -> list[int]:
    sockets = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


TOKEN = "prod-run-token-" + uuid.uuid4().hex


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream``; ``cut()`` drops every connection until ``restore()``."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            self.up = False
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                    conn.close()
            self._open.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.close()


class RedisServer:
    """A redis-server of the test's own, persistent across ``restart()`` (append-only file)."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port, self.directory = port, directory
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(self.directory),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.2)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


@dataclass
class ProdStack:
    url: str  # nginx
    rasa_urls: list[str]
    action_urls: list[str]
    staff_url: str
    run_dir: Path
    log_dir: Path
    process: subprocess.Popen
    redis: RedisServer
    postgres: TcpProxy
    db_url: str
    output: Path
    env: dict[str, str] = field(default_factory=dict)

    def pid(self, name: str) -> int:
        """The running process of ``name`` (``rasa-0``, ``actions-1``, ``staff``) under its supervisor."""
        return int((self.run_dir / f"{name}.pid").read_text().strip())

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Kill a server with all its processes (it runs in a process group of its own)."""
        pid = self.pid(name)
        os.killpg(pid, sig)
        return pid

    def logs(self, lines: int = 40) -> str:
        parts = [f"--- run_prod.sh ---\n{_tail(self.output, lines)}"]
        parts += [f"--- {p.name} ---\n{_tail(p, lines)}" for p in sorted(self.log_dir.glob("*.log"))]
        return "\n".join(parts)

    def stop(self, grace: float = 60.0) -> int | None:
        """SIGTERM to ``run_prod.sh`` (its graceful shutdown), then SIGKILL to whatever is left."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError, ValueError):  # nginx runs in a session of its own
            os.kill(int((self.run_dir / "nginx.pid").read_text().strip()), signal.SIGKILL)
        return self.process.returncode


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(none)"


def start_prod(tmp: Path, env: dict[str, str], services: Services, rasa: int = 2, actions: int = 2) -> ProdStack:
    """``scripts/run_prod.sh`` with ``rasa`` Rasa and ``actions`` action servers; waits until ready."""
    prod, act_proxy, staff, *rest = free_ports(3 + rasa + actions)
    rasa_ports, action_ports = rest[:rasa], rest[rasa:]
    run_dir, log_dir = tmp / "run", tmp / "log"
    env = {
        **env,
        "PROD_PORT": str(prod),
        "PROD_RASA_PORTS": " ".join(map(str, rasa_ports)),
        "PROD_ACTION_PORTS": " ".join(map(str, action_ports)),
        "PROD_ACTIONS_PROXY_PORT": str(act_proxy),
        "STAFF_PORT": str(staff),
        "PROD_RUN_DIR": str(run_dir),
        "PROD_LOG_DIR": str(log_dir),
        "PROD_GRACE_SECONDS": "40",
        "RASA_TOKEN": TOKEN,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(services.redis.port),
        "LEGAL_DB_URL": services.db_url,
    }
    output = tmp / "run_prod.out"
    with output.open("w") as out:
        process = subprocess.Popen(
            ["scripts/run_prod.sh"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = ProdStack(
        url=f"http://127.0.0.1:{prod}",
        rasa_urls=[f"http://127.0.0.1:{p}" for p in rasa_ports],
        action_urls=[f"http://127.0.0.1:{p}" for p in action_ports],
        staff_url=f"http://127.0.0.1:{staff}",
        run_dir=run_dir,
        log_dir=log_dir,
        process=process,
        redis=services.redis,
        postgres=services.postgres,
        db_url=services.db_url,
        output=output,
        env=env,
    )
    deadline = time.monotonic() + READY_TIMEOUT + 120
    while "Production mode is ready" not in output.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stack.stop()
            raise RuntimeError(f"run_prod.sh did not become ready (exit {process.returncode})\n{stack.logs()}")
        time.sleep(2)
    return stack


def printed_urls(stack: ProdStack) -> set[str]:
    return set(re.findall(r"http://[0-9.:]+[^\s)]*", stack.output.read_text(errors="replace")))


@dataclass
class Services:
    """The Redis server, the PostgreSQL proxy and the database URL (a fresh schema) of one stack."""

    redis: RedisServer
    postgres: TcpProxy
    db_url: str


@contextlib.contextmanager
def own_services(tmp: Path, postgres_url: str, prefix: str) -> Iterator[Services]:
    """A Redis server and a PostgreSQL schema (with its tables) for one stack; removed afterwards."""
    from sqlalchemy import create_engine, text

    import records

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    postgres = TcpProxy(("127.0.0.1", 5432))
    base = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{postgres.port}")
    db_url = f"{base}?connect_timeout=3&options=-csearch_path%3D{schema}"
    (tmp / "redis").mkdir(exist_ok=True)
    redis = RedisServer(free_ports(1)[0], tmp / "redis")
    try:
        redis.start()
        records.db.create_schema(records.get_engine(db_url))
        yield Services(redis, postgres, db_url)
    finally:
        redis.stop()
        postgres.close()
        records.db.dispose_engines()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
