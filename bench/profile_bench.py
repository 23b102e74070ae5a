"""Profile promptsmith's hot streaming path with py-spy while it relays streams.

    make bench-profile     # or: .venv/bin/python bench/profile_bench.py [--seconds 20]

Starts the emulator and `promptsmith serve`, keeps `--concurrency` streams of
`emu-stream-512x10ms` going through `/api/ai/prompt-assistant/stream`, and samples the
server with `py-spy record`. Writes the collapsed stacks to bench/results/raw/ and
prints the functions with the most samples (self and inclusive), so per-event waste
shows up at the top.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import tempfile
import time
from pathlib import Path

import streamload as sl

RAW = Path(__file__).resolve().parent / "results" / "raw"


async def keep_streaming(
    target: sl.Target, concurrency: int, until: float, model: str = "emu-stream-512x10ms"
) -> int:
    done = 0

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < until:
            await sl.stream_once(target, model)
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


def summarise(collapsed: Path, top: int) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        samples = int(count)
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    lines = [f"{total} samples", "", "self:"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(top * 2)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--model", default="emu-stream-512x10ms", help="emu-stream-4x1ms: per-request costs"
    )
    args = parser.parse_args()
    sl.use_uvloop()
    RAW.mkdir(parents=True, exist_ok=True)
    out = RAW / "profile.collapsed"
    with tempfile.TemporaryDirectory(prefix="profile-bench-") as tmp:
        work = Path(tmp)
        emulator = sl.start_emulator(work)
        server = sl.start_promptsmith(emulator, work / "data", work)
        with sl.running(emulator, server):
            target = sl.Target("promptsmith", server.port, "promptsmith", sl.org_token())
            asyncio.run(keep_streaming(target, 4, time.monotonic() + 2))  # warm-up
            spy = subprocess.Popen(
                [
                    str(sl.VENV_BIN / "py-spy"),
                    "record",
                    "--pid",
                    str(server.process.pid),
                    "--duration",
                    str(int(args.seconds)),
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--nonblocking",
                    "--gil",
                ]
            )
            until = time.monotonic() + args.seconds
            streams = asyncio.run(keep_streaming(target, args.concurrency, until, args.model))
            spy.wait(timeout=args.seconds + 60)
    print(f"{streams} streams of {args.model} relayed while profiling; stacks in {out}\n")
    print(summarise(out, args.top))


if __name__ == "__main__":
    main()
