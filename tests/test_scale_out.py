"""Scale-out: real `promptsmith serve` processes sharing PostgreSQL and Redis, and workers.

Two processes on different ports and data dirs stand in for two hosts behind a
load balancer: they share only the database, Redis and the JWT secret.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from promptsmith.auth import SECRET_FILE, TokenVerifier
from promptsmith.settings import Settings
from promptsmith.storage.db import Database
from promptsmith.storage.models import UsageRecord
from promptsmith.testing import free_port
from promptsmith.testing_pg import run_async

CLI = Path(sys.executable).parent / "promptsmith"
NL_CREATE = "/api/ai/nl-create"
MODEL = "/api/admin/org/model"
BODY = {"instruction": "A friendly follow-up agent"}


class ServeProcess:
    """`promptsmith serve` in a subprocess on a free port; logs go to files."""

    def __init__(self, env: dict[str, str], logs: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.args = args
        logs.mkdir(parents=True, exist_ok=True)
        self.stdout_path, self.stderr_path = logs / "stdout.log", logs / "stderr.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServeProcess:
        command = [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(command, env=self.env, stdout=out, stderr=err)
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"serve exited with {self.process.returncode}:\n{self.stderr()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"serve was not ready after {timeout}s:\n{self.stderr()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM, as an orchestrator sends it; the server must shut down gracefully."""
        assert self.process is not None
        self.process.terminate()
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            pytest.fail(f"serve did not stop on SIGTERM:\n{self.stderr()}")
        # uvicorn re-raises the signal after a graceful shutdown, so -15 is a clean exit.
        assert code in (0, -signal.SIGTERM), self.stderr()
        assert "Application shutdown complete." in self.stderr()

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        lines = (self.stderr() + self.stdout_path.read_text(errors="replace")).splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def base_env(**settings: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PROMPTSMITH_", "ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_"))
    }
    env.update({f"PROMPTSMITH_{name.upper()}": value for name, value in settings.items()})
    return env


def bearer(verifier: TokenVerifier, user: str, org: str, role: str | None = None) -> dict[str, str]:
    return {"Authorization": "Bearer " + verifier.mint(user=user, org=org, role=role)}


@pytest.mark.postgres
def test_two_processes_share_postgres_and_redis(
    postgres_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    secret = secrets.token_urlsafe(48)
    env = base_env(
        database_url=postgres_url,
        redis_url=redis_url,
        redis_key_prefix=redis_prefix,
        jwt_secret=secret,
        default_provider="scripted",
        default_model="scripted-model",
        rate_limit_user="5",
        rate_limit_org="0",
        rate_limit_window_seconds="3600",
    )
    # Separate data dirs: nothing on local disk is shared, as between two hosts.
    a = ServeProcess(env | {"PROMPTSMITH_DATA_DIR": str(tmp_path / "a")}, tmp_path / "logs-a")
    b = ServeProcess(env | {"PROMPTSMITH_DATA_DIR": str(tmp_path / "b")}, tmp_path / "logs-b")
    with a, b:
        a.start()  # both migrate the empty database at once
        b.start()
        a.wait_ready()
        b.wait_ready()
        verifier = TokenVerifier(Settings(_env_file=None, jwt_secret=secret, data_dir=tmp_path))
        admin = bearer(verifier, "root", "acme", role="admin")
        with httpx.Client(timeout=30) as http:
            # (a) Data written through A is read through B, and back.
            put = http.put(
                a.url + MODEL, json={"provider": "openai", "model": "m-1"}, headers=admin
            )
            assert put.status_code == 200, put.text
            seen = http.get(b.url + MODEL, headers=admin).json()
            assert (seen["source"], seen["provider"], seen["model"]) == ("org", "openai", "m-1")
            assert http.delete(b.url + MODEL, headers=admin).status_code == 200
            assert http.get(a.url + MODEL, headers=admin).json()["source"] == "server-default"

            # (b) One rate-limit budget: 5 requests split across A and B use it up.
            ada = bearer(verifier, "ada", "acme")
            for server in (a, b, a, b, a):
                response = http.post(server.url + NL_CREATE, json=BODY, headers=ada)
                assert response.status_code == 200, response.text
            for server in (b, a):
                refused = http.post(server.url + NL_CREATE, json=BODY, headers=ada)
                assert refused.status_code == 429, refused.text
                assert refused.json()["success"] is False
                assert refused.json()["limit"] == "user"
                assert int(refused.headers["Retry-After"]) >= 1
            grace = bearer(verifier, "grace", "acme")
            assert http.post(b.url + NL_CREATE, json=BODY, headers=grace).status_code == 200

            ready = http.get(a.url + "/readyz").json()
            assert ready == {"status": "ready", "database": "ok", "redis": "ok"}
        a.stop()
        b.stop()

    # Both processes wrote their usage rows to the one database (flushed at shutdown).
    async def usage_rows() -> int:
        db = Database(postgres_url)
        try:
            async with db.session() as session:
                count = await session.scalar(
                    select(func.count()).where(UsageRecord.org_id == "acme")
                )
                return int(count or 0)
        finally:
            await db.dispose()

    # Six nl-create calls, each re-asked once: the scripted echo is not a well-formed prompt.
    assert run_async(usage_rows) == 12
    assert not (tmp_path / "a" / SECRET_FILE).exists()


def test_serve_with_two_workers(tmp_path: Path) -> None:
    env = base_env(data_dir=str(tmp_path / "var"), log_json="true")
    server = ServeProcess(env, tmp_path / "logs", "--workers", "2")
    with server:
        server.start().wait_ready()
        for _ in range(6):
            assert httpx.get(server.url + "/readyz", timeout=10).status_code == 200
        metrics = httpx.get(server.url + "/metrics", timeout=10).text
        server.stop()
    records = server.log_records()
    # /metrics adds up both workers: it counts every /readyz either of them answered.
    answered = [r for r in records if r.get("event") == "GET /readyz 200"]
    assert f"{readyz_count(metrics):g}" == f"{len(answered):g}"
    started = [r for r in records if r.get("event") == "Application startup complete."]
    assert len({r["process"] for r in started}) == 2
    stopped = [r for r in records if r.get("event") == "Application shutdown complete."]
    assert len(stopped) == 2
    assert not [r for r in records if r.get("level") in ("error", "critical")]
    # One dev secret for both workers, though they raced to create it.
    assert (tmp_path / "var" / SECRET_FILE).read_text()
    assert [p.name for p in (tmp_path / "var").iterdir() if p.name.startswith(".")] == []


def test_workers_racing_for_the_dev_secret_agree(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from promptsmith.auth import load_or_create_secret;"
        "print(load_or_create_secret(Path(sys.argv[1])))"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "var")], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    secrets_seen = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(secrets_seen) == 1 and "" not in secrets_seen
    assert oct((tmp_path / "var" / SECRET_FILE).stat().st_mode & 0o777) == "0o600"


def readyz_count(metrics: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("promptsmith_http_requests_total{") and 'route="/readyz"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_start_up_warns_about_per_host_state(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from promptsmith.shared.checks import log_scale_out

    with caplog.at_level(logging.INFO, logger="promptsmith"):
        log_scale_out(make_settings(database_url="postgresql+asyncpg://db.internal/promptsmith"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("PROMPTSMITH_REDIS_URL" in message for message in warnings)
    assert any("PROMPTSMITH_JWT_SECRET" in message for message in warnings)

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="promptsmith"):
        log_scale_out(make_settings(redis_url="redis://x", jwt_secret="s" * 40))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_database_pool_is_configurable(make_settings: Any) -> None:
    from promptsmith.services import Services

    settings = make_settings(
        database_url="postgresql+asyncpg://app@db.internal/promptsmith",
        database_pool_size=3,
        database_max_overflow=1,
    )
    pool = Services.build(settings).db.engine.pool
    assert (pool.size(), pool._max_overflow) == (3, 1)  # type: ignore[attr-defined]
