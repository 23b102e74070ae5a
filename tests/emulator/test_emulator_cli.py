"""`python -m promptsmith.emulator` serves the emulator."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import typer
from typer.testing import CliRunner

from promptsmith.emulator.cli import llm_emulator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_module_entry_point_serves_the_emulator() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "promptsmith.emulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "the emulator exited"
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.1)
        assert response.json() == {"ok": True}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_command_mounts_on_a_cli_as_llm_emulator() -> None:
    root = typer.Typer()
    root.callback()(lambda: None)
    root.command("llm-emulator")(llm_emulator)
    result = CliRunner().invoke(root, ["llm-emulator", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output
