"""Concurrency ramp to 2,000 open streams through promptsmith (and, for reference,
straight to the emulator).

    make bench-ramp      # or: .venv/bin/python bench/ramp_bench.py [--interval 20]

Streams of sequence-numbered tokens (`t0 t1 ...`, one every `--interval` ms) are
opened in steps up to 2,000 and all kept open; at each step the inter-token gaps of
every open stream are measured over a `--hold` second window, with the server's
memory. Afterwards every stream must have finished with status 200, every token in
order with none missing, and (through promptsmith) exactly one `done`. The load
generator is this process; promptsmith and the emulator are their own processes.
Results go to docs/benchmarks.md under "## Concurrency ramp".
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import streamload as sl

HEADING = "## Concurrency ramp"
GAP_LIMIT = 0.050
OPEN_RATE = 500  # new streams per second while ramping


@dataclass
class Step:
    streams: int
    gap_p50: float
    gap_p99: float
    lag_p50: float
    lag_p99: float
    stalls: float
    rss_kib: int
    kib_per_stream: float


def window_gaps(results: list[sl.StreamResult], start: float, end: float) -> list[float]:
    gaps: list[float] = []
    for result in results:
        times = [t for t in result.token_times if start <= t <= end]
        gaps += [b - a for a, b in itertools.pairwise(times)]
    return gaps


def window_lags(
    results: list[sl.StreamResult], start: float, end: float, interval: float
) -> list[float]:
    """How late each token arrived against its schedule (first token + i × interval)."""
    lags: list[float] = []
    for result in results:
        times = result.token_times
        if not times:
            continue
        first = times[0]
        lags += [t - first - i * interval for i, t in enumerate(times) if start <= t <= end]
    return lags


async def ramp(
    target: sl.Target, server: sl.Server, levels: list[int], interval: float, hold: float
) -> tuple[list[Step], list[sl.StreamResult], int]:
    settle = 2.0
    duration = sum(levels[i] - (levels[i - 1] if i else 0) for i in range(len(levels)))
    seconds = duration / OPEN_RATE + len(levels) * (settle + hold) + 10
    tokens = int(seconds * 1000 / interval)
    model = f"emu-ramp-{int(time.time())}-{tokens}x{interval:g}ms"
    idle = server.rss_kib()
    results: list[sl.StreamResult] = []
    tasks: list[asyncio.Task[None]] = []
    steps: list[Step] = []
    for level in levels:
        while len(tasks) < level:
            result = sl.StreamResult(started=time.perf_counter())
            results.append(result)
            tasks.append(asyncio.create_task(sl.stream_into(result, target, model, limit_s=900)))
            if len(tasks) % 50 == 0:
                await asyncio.sleep(50 / OPEN_RATE)
        await asyncio.sleep(settle)
        start = time.perf_counter()
        await asyncio.sleep(hold)
        end = time.perf_counter()
        gaps = window_gaps(results, start, end)
        lags = window_lags(results, start, end, interval / 1000)
        rss = server.rss_kib()
        stalls = (
            sum(g > interval / 1000 + 0.040 for g in gaps) / len(gaps) if gaps else float("nan")
        )
        steps.append(
            Step(
                level,
                sl.percentile(gaps, 50),
                sl.percentile(gaps, 99),
                sl.percentile(lags, 50),
                sl.percentile(lags, 99),
                stalls,
                rss,
                (rss - idle) / level,
            )
        )
        print(
            f"  {target.name}: {level} open, p99 gap {sl.ms(steps[-1].gap_p99)} ms, "
            f"p99 lag {sl.ms(steps[-1].lag_p99)} ms",
            flush=True,
        )
    await asyncio.gather(*tasks)
    return steps, results, tokens


def integrity(results: list[sl.StreamResult], tokens: int, expect_done: bool) -> str:
    errors = sum(1 for r in results if r.error or r.status != 200 or not r.finished)
    lost = sum(1 for r in results if len(set(r.token_ids)) != tokens)
    disorder = sum(1 for r in results if r.token_ids != sorted(r.token_ids))
    bad_done = sum(1 for r in results if expect_done and r.done_events != 1)
    for r in results:
        if r.error:
            print("  first error:", r.error)
            break
    verdict = "pass" if errors == lost == disorder == bad_done == 0 else "**FAIL**"
    done = f", streams without exactly one `done` {bad_done}" if expect_done else ""
    return (
        f"{len(results)} streams × {tokens} tokens: errors {errors}, streams with lost "
        f"tokens {lost}, streams out of order {disorder}{done} → {verdict}"
    )


def section(name: str, steps: list[Step], check: str, interval: float) -> list[str]:
    best = max((s.streams for s in steps if s.lag_p99 <= GAP_LIMIT), default=0)
    rows = [
        f"#### {name}",
        "",
        "| open streams | gap p50 (ms) | gap p99 (ms) | lag p50 (ms) | lag p99 (ms) | "
        "stalls | server RSS (MiB) | KiB per stream |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows += [
        f"| {s.streams} | {sl.ms(s.gap_p50)} | {sl.ms(s.gap_p99)} | {sl.ms(s.lag_p50)} | "
        f"{sl.ms(s.lag_p99)} | {s.stalls:.2%} | "
        f"{s.rss_kib / 1024:.0f} | {s.kib_per_stream:.1f} |"
        for s in steps
    ]
    rows += [
        "",
        f"- Highest stream count with p99 lag ≤ 50 ms (p99 gap ≤ interval + 50 ms): "
        f"**{best or 'none'}** of {steps[-1].streams if steps else 0} tried",
        f"- Integrity: {check}",
        "",
    ]
    return rows


async def run(args: argparse.Namespace, work: Path) -> str:
    machine, started = sl.machine(), sl.today()
    emulator = sl.start_emulator(work)
    promptsmith = sl.start_promptsmith(emulator, work / "data", work)
    lines = [
        f"Measured {started} by `make bench-ramp` (`bench/ramp_bench.py`). Machine: {machine}.",
        "",
        f"Tokens every {args.interval:g} ms; streams opened at {OPEN_RATE}/s up to each "
        f"level and all kept open; gaps measured over {args.hold:g} s at each level. "
        "Gap = time between two tokens of a stream (nominally the interval); lag = how "
        "late a token arrived against its schedule (first token + i × interval), which "
        "shows a server falling behind even when it then delivers in bursts; stalls = gaps "
        "over interval + 40 ms. KiB per stream = (RSS at the level − RSS before the ramp) / "
        "open streams. The interval is chosen so 2,000 streams stay within what one "
        "promptsmith worker relays on this shared 2-core machine (see the gateway and soak "
        "figures for 10–20 ms intervals); the per-event cost, not the number of open "
        "streams, is what limits a worker.",
        "",
    ]
    with sl.running(emulator, promptsmith):
        token = sl.org_token()
        runs = [(sl.Target("promptsmith", promptsmith.port, "promptsmith", token), promptsmith)]
        if not args.no_direct:
            runs.append((sl.Target("direct", emulator.port, "direct"), emulator))
        for target, server in runs:
            steps, results, tokens = await ramp(
                target, server, args.levels, args.interval, args.hold
            )
            check = integrity(results, tokens, target.kind == "promptsmith")
            title = (
                "Through promptsmith"
                if target.kind == "promptsmith"
                else "Direct to the emulator (reference)"
            )
            lines += section(title, steps, check, args.interval)
            await asyncio.sleep(2)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", type=int, nargs="+", default=[100, 250, 500, 1000, 1500, 2000])
    parser.add_argument("--interval", type=float, default=500.0, help="ms between tokens")
    parser.add_argument("--hold", type=float, default=4.0)
    parser.add_argument("--no-direct", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sl.use_uvloop()
    with tempfile.TemporaryDirectory(prefix="ramp-bench-") as tmp:
        body = asyncio.run(run(args, Path(tmp)))
    print(body)
    if not args.no_write:
        sl.write_section(HEADING, body)


if __name__ == "__main__":
    main()
