"""Soak: 500 concurrent streams through promptsmith for 60 s; memory must stay flat.

    make bench-soak      # or: .venv/bin/python bench/soak_bench.py [--seconds 60]

`--streams` clients each open a stream (`--tokens` sequence-numbered tokens, one every
`--interval` ms), read it to the end, check it, and open the next, until `--seconds`
have passed. The server's RSS is sampled every second; after a warm-up (the first
quarter) it must stay within 10% of its value at the end of the warm-up. Results go
to docs/benchmarks.md under "## Soak".
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamload as sl

HEADING = "## Soak"
FLAT = 0.10


@dataclass
class Tally:
    streams: int = 0
    errors: int = 0
    broken: int = 0  # lost, reordered or not exactly one done
    gaps: list[float] = field(default_factory=list)
    first_error: str | None = None


async def client(target: sl.Target, model: str, tokens: int, until: float, tally: Tally) -> None:
    while time.monotonic() < until:
        result = await sl.stream_once(target, model, limit_s=300)
        tally.streams += 1
        if result.error or result.status != 200:
            tally.errors += 1
            tally.first_error = tally.first_error or result.error
            continue
        if not result.in_order(tokens) or result.done_events != 1:
            tally.broken += 1
        tally.gaps.extend(result.gaps())


async def sample(server: sl.Server, until: float, into: list[tuple[float, int]]) -> None:
    start = time.monotonic()
    while time.monotonic() < until:
        into.append((time.monotonic() - start, server.rss_kib()))
        await asyncio.sleep(1.0)


async def soak(args: argparse.Namespace, target: sl.Target, server: sl.Server) -> str:
    model = f"emu-soak-{int(time.time())}-{args.tokens}x{args.interval:g}ms"
    until = time.monotonic() + args.seconds
    tally, memory = Tally(), []
    sampler = asyncio.create_task(sample(server, until, memory))
    await asyncio.gather(
        *(client(target, model, args.tokens, until, tally) for _ in range(args.streams))
    )
    await sampler
    warm = [kib for t, kib in memory if t <= args.seconds / 4]
    after = [kib for t, kib in memory if t > args.seconds / 4]
    base = warm[-1] if warm else memory[0][1]
    peak = max(after) if after else base
    growth = (peak - base) / base if base else 0.0
    flat = "pass" if growth <= FLAT else "**FAIL**"
    clean = "pass" if tally.errors == tally.broken == 0 else "**FAIL**"
    series = ", ".join(f"{kib / 1024:.0f}" for _, kib in memory[:: max(1, len(memory) // 12)])
    slow = sum(g > args.interval / 1000 + 0.040 for g in tally.gaps)
    return "\n".join(
        [
            f"- {args.streams} concurrent streams for {args.seconds:g} s, {args.tokens} tokens "
            f"every {args.interval:g} ms each: {tally.streams} streams completed, errors "
            f"{tally.errors}, lost/reordered/`done`≠1 {tally.broken} → {clean}"
            + (f" (first error: `{tally.first_error}`)" if tally.first_error else ""),
            f"- Server RSS (MiB, sampled through the run): {series}",
            f"- After warm-up ({args.seconds / 4:g} s): {base / 1024:.0f} MiB → peak "
            f"{peak / 1024:.0f} MiB, growth {growth:+.1%} (target within ±10%: {flat})",
            f"- Inter-token gap p50 {sl.ms(sl.percentile(tally.gaps, 50))} ms, p99 "
            f"{sl.ms(sl.percentile(tally.gaps, 99))} ms; gaps over interval + 40 ms: "
            f"{slow / max(1, len(tally.gaps)):.2%}",
        ]
    )


async def run(args: argparse.Namespace, work: Path) -> str:
    machine, started = sl.machine(), sl.today()
    emulator = sl.start_emulator(work)
    promptsmith = sl.start_promptsmith(emulator, work / "data", work)
    with sl.running(emulator, promptsmith):
        target = sl.Target("promptsmith", promptsmith.port, "promptsmith", sl.org_token())
        findings = await soak(args, target, promptsmith)
    return (
        f"Measured {started} by `make bench-soak` (`bench/soak_bench.py`). Machine: "
        f"{machine}.\n\n{findings}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--interval", type=float, default=200.0, help="ms between tokens")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sl.use_uvloop()
    with tempfile.TemporaryDirectory(prefix="soak-bench-") as tmp:
        body = asyncio.run(run(args, Path(tmp)))
    print(body)
    if not args.no_write:
        sl.write_section(HEADING, body)


if __name__ == "__main__":
    main()
