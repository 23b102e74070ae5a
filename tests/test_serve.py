"""`promptsmith serve` as a real process: health, readiness, JSON logs, setup hint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from promptsmith.testing import free_port

CLI = Path(sys.executable).parent / "promptsmith"


def test_serve_starts_and_answers(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMPTSMITH_", "ANTHROPIC"))}
    env["PROMPTSMITH_DATA_DIR"] = str(tmp_path / "var")
    process = subprocess.Popen(
        [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200
        assert (tmp_path / "var" / "promptsmith.db").exists()
        assert (tmp_path / "var" / "jwt_secret").exists()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert records, stderr
    setup = [r for r in records if "setup required" in r.get("event", "")]
    assert setup and "ANTHROPIC_API_KEY" in setup[0]["event"]
    access = [r for r in records if r.get("logger") == "promptsmith.access"]
    assert access and all("request_id" in r for r in access)
