"""Gateway overhead, side by side: direct to the emulator, through promptsmith, through
the LiteLLM proxy.

    make bench-gateway          # or: .venv/bin/python bench/gateway_bench.py [--quick]

The emulator streams N tokens (64 and 512) one every `--interval` ms over the OpenAI
Chat Completions wire format. The same load goes

* **direct** to the emulator (`POST /v1/chat/completions`, stream),
* through **promptsmith** (`POST /api/ai/prompt-assistant/stream` in chat mode, which
  streams the provider's text 1:1 as `assistant-delta` events; JWT auth, routing,
  the official OpenAI SDK, usage recording included), and
* through the **LiteLLM proxy** (`litellm[proxy]` from bench/requirements-litellm.txt in
  bench/.venv-litellm: no database, no callbacks, retries off),

alternating target by target, `--repeats` times, at each concurrency level. "Added"
figures are a gateway's percentile minus the direct percentile of the same runs.
The load generator is this process (see streamload.py); every server is its own process.
Results go to docs/benchmarks.md under "## Gateway overhead".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import streamload as sl

HEADING = "## Gateway overhead"
STALL = 0.040  # a gap over 40 ms is a stall
ROUND_LIMIT = 240.0  # a stream not finished by then counts as an error
LITELLM_VENV = Path(__file__).resolve().parent / ".venv-litellm"
LITELLM_CONFIG = """\
model_list:
  - model_name: "*"
    litellm_params:
      model: "openai/*"
      api_base: "http://127.0.0.1:{port}/v1"
      api_key: "sk-bench-0123456789"
litellm_settings:
  num_retries: 0
  request_timeout: 600
  drop_params: true
  callbacks: []
  success_callback: []
  failure_callback: []
  turn_off_message_logging: true
router_settings:
  num_retries: 0
"""


@dataclass
class Samples:
    ttfb: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    errors: int = 0
    streams: int = 0
    tokens: int = 0
    seconds: float = 0.0
    rss_per_stream: list[float] = field(default_factory=list)  # KiB
    first_error: str | None = None


def start_litellm(emulator: sl.Server, work: Path) -> sl.Server | None:
    binary = LITELLM_VENV / "bin" / "litellm"
    if not binary.exists():
        print(f"LiteLLM not installed at {binary}: run `make bench-litellm-venv`.")
        return None
    config = work / "litellm.yaml"
    config.write_text(LITELLM_CONFIG.format(port=emulator.port))
    port = sl.free_port()
    env = {
        "LITELLM_MASTER_KEY": sl.CLIENT_KEY,
        "LITELLM_LOG": "ERROR",
        "DISABLE_SCHEMA_UPDATE": "true",
        "LITELLM_MODE": "PRODUCTION",
    }
    argv = [str(binary), "--config", str(config), "--port", str(port), "--num_workers", "1"]
    try:
        return sl.start_server("litellm", argv, port, env, log=work / "litellm.log")
    except RuntimeError as exc:
        print(f"LiteLLM did not start: {exc}")
        return None


async def sample_rss(server: sl.Server, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], server.rss_kib())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)


async def run_round(
    target: sl.Target, server: sl.Server, model: str, concurrency: int, into: Samples
) -> None:
    idle = server.rss_kib()
    peak, stop = [idle], asyncio.Event()
    sampler = asyncio.create_task(sample_rss(server, peak, stop))
    started = time.perf_counter()
    results = await asyncio.gather(*(sl.stream_once(target, model) for _ in range(concurrency)))
    into.seconds += time.perf_counter() - started
    stop.set()
    await sampler
    into.rss_per_stream.append((peak[0] - idle) / concurrency)
    for result in results:
        into.streams += 1
        if result.error or result.status != 200 or result.ttfb is None:
            into.errors += 1
            into.first_error = into.first_error or result.error or f"HTTP {result.status}"
            continue
        into.ttfb.append(result.ttfb)
        into.gaps.extend(result.gaps())
        into.tokens += len(result.token_times)


def repeats_for(args: argparse.Namespace, concurrency: int, target: str) -> int:
    """5 repeats up to c=16; fewer at c>=128 so one run finishes in minutes (LiteLLM at
    c=1000 takes minutes per round on this machine, so it runs once there)."""
    if concurrency <= 16:
        return int(args.repeats)
    if concurrency > 128 and target == "litellm":
        return 1
    return int(args.repeats_high)


async def measure(
    targets: list[tuple[sl.Target, sl.Server]], args: argparse.Namespace
) -> dict[tuple[int, int, str], Samples]:
    samples: dict[tuple[int, int, str], Samples] = defaultdict(Samples)
    interval = args.interval
    for target, server in targets:  # warm-up, discarded
        await run_round(target, server, f"emu-warm-16x{interval:g}ms", 16, Samples())
    for n in args.tokens:
        model = f"emu-stream-{n}x{interval:g}ms"
        for concurrency in args.concurrency:
            if n * concurrency > args.max_events:
                print(f"  N={n} c={concurrency}: skipped (over --max-events)", flush=True)
                continue
            most = max(repeats_for(args, concurrency, t.name) for t, _ in targets)
            for repeat in range(most):
                shift = repeat % len(targets)
                for target, server in targets[shift:] + targets[:shift]:
                    if repeat >= repeats_for(args, concurrency, target.name):
                        continue
                    key = (n, concurrency, target.name)
                    began = time.perf_counter()
                    await run_round(target, server, model, concurrency, samples[key])
                    took = time.perf_counter() - began
                    print(
                        f"  N={n} c={concurrency} {target.name} #{repeat}: {took:.1f} s", flush=True
                    )
                    await asyncio.sleep(0.2)
            print("\n".join(table(samples, n, [concurrency])[2:]), flush=True)
    return samples


async def measure_disconnects(target: sl.Target, emulator: sl.Server, streams: int) -> str:
    """`streams` clients read 2 tokens of a long stream and hang up; the emulator's
    connection log says when each upstream stream was closed."""
    import httpx

    model = f"emu-disconnect-{int(time.time())}-3000x10ms"
    results = await asyncio.gather(
        *(sl.stream_once(target, model, stop_after=2) for _ in range(streams))
    )
    hung_up = time.time()  # epoch: the emulator reports closed_at in epoch seconds
    deadline = time.monotonic() + 30
    url = f"http://127.0.0.1:{emulator.port}/_emulator/connections"
    async with httpx.AsyncClient(timeout=30) as client:
        while True:
            found = (await client.get(url, params={"model": model})).json()["connections"]
            if len(found) >= streams and all(c["outcome"] != "open" for c in found):
                break
            if time.monotonic() > deadline:
                return f"{sum(c['outcome'] == 'open' for c in found)} still open after 30 s"
            await asyncio.sleep(0.05)
    lags = [max(0.0, c["closed_at"] - hung_up) for c in found]
    errors = sum(1 for r in results if r.error)
    return (
        f"{streams} concurrent disconnects: every upstream stream closed, outcome "
        f"`{', '.join(sorted({c['outcome'] for c in found}))}`; close lag after the last "
        f"client hung up: max {sl.ms(max(lags))} ms, p50 {sl.ms(sl.percentile(lags, 50))} ms "
        f"(target: within 1 s); client errors {errors}"
    )


def table(samples: dict[tuple[int, int, str], Samples], n: int, levels: list[int]) -> list[str]:
    rows = [
        "| c | target | TTFB p50 | TTFB p99 | added TTFB p50 | added TTFB p99 | gap p50 | "
        "gap p99 | added gap p50 | added gap p99 | stalls >40 ms | tokens/s | KiB/stream "
        "| errors |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in levels:
        base = samples.get((n, c, "direct"))
        for name in ("direct", "promptsmith", "litellm"):
            s = samples.get((n, c, name))
            if s is None or base is None:
                continue
            rows.append(_row(c, name, s, base))
    return rows


def _row(c: int, name: str, s: Samples, base: Samples) -> str:
    p = sl.percentile
    t50, t99, g50, g99 = p(s.ttfb, 50), p(s.ttfb, 99), p(s.gaps, 50), p(s.gaps, 99)
    added = name != "direct"
    a = [
        t50 - p(base.ttfb, 50),
        t99 - p(base.ttfb, 99),
        g50 - p(base.gaps, 50),
        g99 - p(base.gaps, 99),
    ]
    stalls = sum(g > STALL for g in s.gaps) / len(s.gaps) if s.gaps else float("nan")
    rate = s.tokens / s.seconds if s.seconds else 0.0
    mem = sl.percentile(s.rss_per_stream, 50)
    shown = [sl.ms(v) if added else "–" for v in a]
    cells = [str(c), name, sl.ms(t50), sl.ms(t99), *shown[:2], sl.ms(g50), sl.ms(g99), *shown[2:]]
    cells += [f"{stalls:.2%}", f"{rate:,.0f}", f"{mem:.1f}", f"{s.errors}/{s.streams}"]
    return "| " + " | ".join(cells) + " |"


def verdicts(
    samples: dict[tuple[int, int, str], Samples], tokens: list[int], levels: list[int]
) -> list[str]:
    p = sl.percentile
    lines = []
    for n in tokens:
        one = (samples.get((n, 1, "promptsmith")), samples.get((n, 1, "direct")))
        if one[0] and one[1]:
            added = p(one[0].ttfb, 50) - p(one[1].ttfb, 50)
            ok = "met" if added <= 0.001 else "**missed**"
            lines.append(f"- N={n}, c=1: added TTFB p50 {sl.ms(added)} ms (target ≤ 1 ms: {ok})")
        at128 = (samples.get((n, 128, "promptsmith")), samples.get((n, 128, "direct")))
        if at128[0] and at128[1]:
            added = p(at128[0].gaps, 99) - p(at128[1].gaps, 99)
            ok = "met" if added <= 0.010 else "**missed**"
            lines.append(f"- N={n}, c=128: added gap p99 {sl.ms(added)} ms (target ≤ 10 ms: {ok})")
        for c in levels:
            ours, theirs, base = (
                samples.get((n, c, k)) for k in ("promptsmith", "litellm", "direct")
            )
            if not (ours and theirs and base):
                continue
            mine = max(p(ours.ttfb, 50) - p(base.ttfb, 50), 1e-6)
            other = p(theirs.ttfb, 50) - p(base.ttfb, 50)
            ratio = other / mine
            ok = "met" if ratio >= 5 else "**missed**"
            lines.append(
                f"- N={n}, c={c}: LiteLLM adds {sl.ms(other)} ms TTFB p50, promptsmith "
                f"{sl.ms(mine)} ms: {ratio:.1f}× (target ≥ 5×: {ok})"
            )
    return lines


def report(
    samples: dict[tuple[int, int, str], Samples],
    args: argparse.Namespace,
    disconnects: str,
    litellm: bool,
    started: str,
    machine: str,
) -> str:
    tokens, levels = args.tokens, args.concurrency
    lines = [
        f"Measured {started} by `make bench-gateway` (`bench/gateway_bench.py"
        f"{' --quick' if args.quick else ''}`). Machine: {machine}.",
        "",
        f"The emulator streams N tokens, one every {args.interval:g} ms (OpenAI Chat "
        "Completions wire format). Direct = straight to the emulator; promptsmith = "
        "`POST /api/ai/prompt-assistant/stream` (chat mode: JWT auth, routing, the official "
        "OpenAI SDK, usage recording; one uvicorn worker, uvloop + httptools); LiteLLM = "
        "`litellm[proxy]` " + ("1.108.0" if litellm else "(not available)") + " proxy, one "
        "worker, no database, no callbacks, retries off. Targets alternate round by round, "
        f"{args.repeats} rounds per target at c ≤ 16, {args.repeats_high} at c ≥ 128 "
        "(LiteLLM: 1 at c = 1,000, where one round takes minutes); all three in the same "
        "run. TTFB = request sent to first token line read; gap = time between two token "
        "lines; added = the gateway's percentile minus direct's. KiB/stream = the "
        "server's peak RSS growth during a round divided by its concurrent streams "
        "(median of rounds; noisy below c=128). The load generator is one separate "
        "process (asyncio streams on uvloop).",
        "",
    ]
    if not litellm:
        lines += ["LiteLLM could not be installed or started here: promptsmith vs direct only.", ""]
    for n in tokens:
        lines += [f"### N = {n} tokens", "", *table(samples, n, levels), ""]
    skipped = [f"N={n}, c={c}" for n in tokens for c in levels if n * c > args.max_events]
    if skipped:
        lines += [
            f"Not run: {', '.join(skipped)} (N × c over {args.max_events:,} events: one "
            "promptsmith worker relays a few thousand events/s on this machine, LiteLLM "
            "under one thousand, so one round would take many minutes).",
            "",
        ]
    errors = [
        f"- {name} N={n} c={c}: {s.errors} errors, first: `{s.first_error}`"
        for (n, c, name), s in sorted(samples.items())
        if s.errors
    ]
    if errors:
        lines += ["Errors:", "", *errors, ""]
    lines += ["### Targets", "", *verdicts(samples, tokens, levels), ""]
    lines += ["### Client disconnect", "", f"- {disconnects}", ""]
    return "\n".join(lines)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 128, 1000])
    parser.add_argument("--repeats", type=int, default=5, help="rounds per target, c<=16")
    parser.add_argument("--repeats-high", type=int, default=2, help="rounds per target, c>=128")
    parser.add_argument("--interval", type=float, default=10.0, help="ms between tokens")
    parser.add_argument(
        "--max-events",
        type=int,
        default=70_000,
        help="skip levels where N × c exceeds this (512 × 1,000 takes minutes per round)",
    )
    parser.add_argument("--quick", action="store_true", help="N=64, c=1,16, 2 repeats")
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print, leave docs alone")
    args = parser.parse_args()
    if args.quick:
        args.tokens, args.concurrency, args.repeats, args.repeats_high = [64], [1, 16], 2, 1
    return args


async def run(args: argparse.Namespace, work: Path) -> str:
    machine, started = sl.machine(), sl.today()
    emulator = sl.start_emulator(work)
    promptsmith = sl.start_promptsmith(emulator, work / "data", work)
    litellm = None if args.no_litellm else start_litellm(emulator, work)
    servers = [s for s in (emulator, promptsmith, litellm) if s is not None]
    with sl.running(*servers):
        targets = [
            (sl.Target("direct", emulator.port, "direct"), emulator),
            (
                sl.Target("promptsmith", promptsmith.port, "promptsmith", sl.org_token()),
                promptsmith,
            ),
        ]
        if litellm is not None:
            targets.append((sl.Target("litellm", litellm.port, "litellm"), litellm))
        samples = await measure(targets, args)
        disconnects = await measure_disconnects(targets[1][0], emulator, 100)
    return report(samples, args, disconnects, litellm is not None, started, machine)


def main() -> None:
    args = parse()
    sl.use_uvloop()
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        body = asyncio.run(run(args, Path(tmp)))
    print(body)
    if not args.no_write:
        sl.write_section(HEADING, body)


if __name__ == "__main__":
    main()
