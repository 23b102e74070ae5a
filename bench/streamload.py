"""Shared parts of the streaming benchmarks: servers in subprocesses, a lean HTTP/1.1
streaming client, percentiles, memory, and the report writer.

The client is a few dozen lines over asyncio streams (on uvloop) rather than httpx:
at 1,000+ concurrent streams a full-featured client spends more CPU per event than
the servers under test, and the benchmark would measure itself. Each stream is one
connection (`Connection: close`); the time of every token-carrying line is recorded
as it is read off the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks.md"
VENV_BIN = Path(sys.executable).parent
# A token line: the emulator's tokens are "t0 ", "t1 ", ... in `content` (OpenAI chat,
# direct and through LiteLLM) or `delta` (promptsmith's assistant-delta events).
DONE = b'"type":"done"'
ERROR = b'"type":"error"'
TOKEN = re.compile(rb'"(?:content|delta)":\s*"\s*t(\d+)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- servers -----------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    def rss_kib(self) -> int:
        """Resident memory of the server process and its children, KiB."""
        return sum(_rss(pid) for pid in [self.process.pid, *_children(self.process.pid)])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _rss(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s*(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    pids = [int(p) for p in found]
    return pids + [c for p in pids for c in _children(p)]


def start_server(
    name: str,
    argv: list[str],
    port: int,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> Server:
    output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        argv, env={**os.environ, **(env or {})}, stdout=output, stderr=subprocess.STDOUT
    )
    server = Server(name, port, process)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} (see {log})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not start within 120 s (see {log})")


def start_emulator(log_dir: Path) -> Server:
    port = free_port()
    argv = [str(VENV_BIN / "promptsmith"), "llm-emulator", "--port", str(port)]
    return start_server("emulator", [*argv, "--no-record"], port, log=log_dir / "emulator.log")


def start_promptsmith(emulator: Server, data_dir: Path, log_dir: Path) -> Server:
    port = free_port()
    env = {
        "PROMPTSMITH_DATA_DIR": str(data_dir),
        "PROMPTSMITH_JWT_SECRET": BENCH_SECRET,
        "PROMPTSMITH_DEFAULT_PROVIDER": "openai",
        "PROMPTSMITH_DEFAULT_MODEL": "emu-text",
        "PROMPTSMITH_OPENAI_API": "chat",
        "PROMPTSMITH_MAX_RETRIES": "0",
        "PROMPTSMITH_RATE_LIMIT_USER": "0",
        "PROMPTSMITH_RATE_LIMIT_ORG": "0",
        "PROMPTSMITH_RATE_LIMIT_INSTITUTION": "0",
        "PROMPTSMITH_LOG_LEVEL": "WARNING",
        "OPENAI_API_KEY": "sk-bench-0123456789",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{emulator.port}/v1",
    }
    argv = [str(VENV_BIN / "promptsmith"), "serve", "--port", str(port)]
    return start_server("promptsmith", argv, port, env, log=log_dir / "promptsmith.log")


# What clients send to the emulator and to LiteLLM (its master key: no database, so
# LiteLLM checks it in memory, as promptsmith checks its JWT).
CLIENT_KEY = "sk-" + "5eb1d0c4a7f2" * 5 + "abcd"
BENCH_SECRET = "bench-secret-0123456789-0123456789-0123456789"


def org_token() -> str:
    import jwt

    now = int(time.time())
    claims = {"sub": "bench", "org": "bench-org", "kind": "org", "iat": now, "exp": now + 86400}
    return jwt.encode(claims, BENCH_SECRET, algorithm="HS256")


# --- one streamed request --------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """How to ask one server for a stream of `tokens` tokens from the emulator."""

    name: str
    port: int
    kind: str  # "direct" (the emulator), "promptsmith", "litellm"
    token: str = ""

    def request(self, model: str) -> bytes:
        if self.kind == "promptsmith":
            path = "/api/ai/prompt-assistant/stream"
            body = {
                "instruction": "What does a system prompt do?",
                "modelOverride": {"provider": "openai", "model": model},
            }
            auth = f"Authorization: Bearer {self.token}\r\n"
        else:
            path = "/v1/chat/completions"
            messages = [{"role": "user", "content": "What does a system prompt do?"}]
            body = {"model": model, "stream": True, "messages": messages}
            auth = f"Authorization: Bearer {CLIENT_KEY}\r\n"
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n"
        )
        return head.encode() + payload


@dataclass
class StreamResult:
    started: float
    token_times: list[float] = field(default_factory=list)
    token_ids: list[int] = field(default_factory=list)
    status: int = 0
    error: str | None = None
    finished: bool = False
    done_events: int = 0

    @property
    def ttfb(self) -> float | None:
        return self.token_times[0] - self.started if self.token_times else None

    def gaps(self) -> list[float]:
        times = self.token_times
        return [b - a for a, b in itertools.pairwise(times)]

    def in_order(self, expected: int) -> bool:
        return self.token_ids == list(range(expected))


async def stream_once(
    target: Target, model: str, *, stop_after: int | None = None, limit_s: float = 300.0
) -> StreamResult:
    """One streamed request; the arrival time and index of every token line."""
    result = StreamResult(started=time.perf_counter())
    await stream_into(result, target, model, stop_after=stop_after, limit_s=limit_s)
    return result


async def stream_into(
    result: StreamResult,
    target: Target,
    model: str,
    *,
    stop_after: int | None = None,
    limit_s: float = 300.0,
) -> None:
    """Like `stream_once`, filling `result` as tokens arrive (others may read it live)."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(limit_s):
            reader, writer = await asyncio.open_connection("127.0.0.1", target.port, limit=2**20)
            writer.write(target.request(model))
            status_line = await reader.readline()
            result.status = int(status_line.split()[1])
            chunked = False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                lowered = line.lower()
                chunked |= lowered.startswith(b"transfer-encoding:") and b"chunked" in lowered
            await _read_tokens(reader, chunked, result, stop_after)
            result.finished = True
    except (TimeoutError, OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        if writer is not None:
            writer.close()


async def _read_tokens(
    reader: asyncio.StreamReader, chunked: bool, result: StreamResult, stop_after: int | None
) -> None:
    pending = b""
    while True:
        if chunked:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                return
            data = await reader.readexactly(size + 2)
            data = data[:-2]
        else:
            data = await reader.read(65536)
            if not data:
                return
        now = time.perf_counter()
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if DONE in line:
                result.done_events += 1
            elif ERROR in line and result.error is None:
                result.error = line.decode(errors="replace")[:300]
            found = TOKEN.search(line)
            if found:
                result.token_times.append(now)
                result.token_ids.append(int(found.group(1)))
        if stop_after is not None and len(result.token_times) >= stop_after:
            return


# --- statistics --------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    return f"{value * 1000:.2f}"


# --- machine and report ------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = found.group(1).strip() if found else cpu
    ram = "unknown"
    with contextlib.suppress(OSError):
        found = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        ram = f"{int(found.group(1)) / 2**20:.1f} GiB" if found else ram
    load = "?"
    with contextlib.suppress(OSError):
        load = Path("/proc/loadavg").read_text().split()[0]
    return (
        f"nproc {os.cpu_count()}, CPU {cpu}, RAM {ram}, 1-min load average {load} at start "
        f"(the machine is shared with other jobs); Python {platform.python_version()}"
    )


def today() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def write_section(heading: str, body: str) -> None:
    """Replace (or append) the `heading` section of docs/benchmarks.md."""
    text = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n"
    section = f"{heading}\n\n{body.strip()}\n"
    level = heading.split(" ")[0]
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^{level} |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    REPORT.write_text(text)


@contextlib.contextmanager
def running(*servers: Server) -> Iterator[None]:
    try:
        yield
    finally:
        for server in reversed(servers):
            server.stop()


def use_uvloop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
