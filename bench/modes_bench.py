"""Mode classifier benchmark: held-out accuracy and per-turn latency.

    .venv/bin/python bench/modes_bench.py

Prints the results and writes them to ``docs/benchmarks.md`` under the
"Mode classifier" heading (other sections of that file are left alone).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from promptsmith.authoring.modes import MODES, classify_turn, load_model, mode_for_intent
from promptsmith.authoring.modes_data import INTENTS, Example, load_examples, split_examples

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks.md"
HEADING = "## Mode classifier"
LATENCY_ROUNDS = 5
SAMPLE_PROMPT = (
    "<prompt><role>Leasing assistant for Maple Ridge Apartments</role>"
    "<goal>Convert leads into tours.</goal><rules><rule>Never quote prices.</rule>"
    "<rule>Offer two tour times.</rule></rules></prompt>"
)


def history_of(example: Example) -> list[tuple[str, str]]:
    if example.last_assistant is None:
        return []
    return [("user", "Can you help me with my prompt?"), ("assistant", example.last_assistant)]


def predict(example: Example, assisted: bool) -> tuple[str, str]:
    decision = classify_turn(
        example.text,
        current_prompt=SAMPLE_PROMPT if example.has_current_prompt else None,
        history=history_of(example),
        assisted_mode=assisted,
    )
    return decision.mode, decision.intent


def confusion(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for g, p in zip(gold, pred, strict=True):
        matrix[labels.index(g), labels.index(p)] += 1
    return matrix


def matrix_table(matrix: np.ndarray, labels: Sequence[str]) -> list[str]:
    lines = ["| gold \\ predicted | " + " | ".join(labels) + " |"]
    lines.append("|---" * (len(labels) + 1) + "|")
    for label, row in zip(labels, matrix, strict=True):
        lines.append(f"| **{label}** | " + " | ".join(str(v) for v in row) + " |")
    return lines


def precision_recall_table(matrix: np.ndarray, labels: Sequence[str]) -> list[str]:
    lines = ["| class | precision | recall | support |", "|---|---|---|---|"]
    for i, label in enumerate(labels):
        predicted, support = matrix[:, i].sum(), matrix[i].sum()
        precision = matrix[i, i] / predicted if predicted else float("nan")
        recall = matrix[i, i] / support if support else float("nan")
        lines.append(f"| {label} | {precision:.3f} | {recall:.3f} | {support} |")
    return lines


def accuracy_section(heldout: Sequence[Example]) -> tuple[list[str], dict[str, float]]:
    lines: list[str] = []
    accuracy: dict[str, float] = {}
    for assisted in (True, False):
        gold = [mode_for_intent(e.label, assisted) for e in heldout]
        results = [predict(e, assisted) for e in heldout]
        modes = [m for m, _ in results]
        key = f"assistedMode={str(assisted).lower()}"
        accuracy[key] = sum(g == p for g, p in zip(gold, modes, strict=True)) / len(heldout)
        labels = list(MODES) if assisted else ["chat", "draft"]
        matrix = confusion(gold, modes, labels)
        lines += ["", f"Mode confusion matrix, {key}:", "", *matrix_table(matrix, labels)]
        lines += ["", *precision_recall_table(matrix, labels)]
        if assisted:
            intents = [i for _, i in results]
            intent_matrix = confusion([e.label for e in heldout], intents, INTENTS)
            accuracy["intent"] = float(np.trace(intent_matrix)) / len(heldout)
            lines += [
                "",
                "Intent confusion matrix (with assistedMode=true each mode is one intent, so "
                "this matches the matrix above; with false, vague and concrete both draft):",
                "",
                *matrix_table(intent_matrix, INTENTS),
            ]
            lines += ["", *precision_recall_table(intent_matrix, INTENTS)]
    return lines, accuracy


def latency_ms(examples: Sequence[Example]) -> dict[str, float]:
    for e in examples[:50]:
        predict(e, True)  # warm-up
    samples = []
    for round_ in range(LATENCY_ROUNDS):
        for e in examples:
            start = time.perf_counter_ns()
            predict(e, assisted=round_ % 2 == 0)
            samples.append((time.perf_counter_ns() - start) / 1e6)
    quantiles = np.percentile(samples, [50, 95, 99])
    return {
        "n": len(samples),
        "p50": float(quantiles[0]),
        "p95": float(quantiles[1]),
        "p99": float(quantiles[2]),
        "mean": statistics.fmean(samples),
    }


def machine() -> str:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = found.group(1).strip() if found else cpu
    ram = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        found = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.MULTILINE)
        ram = f"{int(found.group(1)) / 2**20:.1f} GiB" if found else ram
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    return (
        f"nproc {os.cpu_count()}, CPU {cpu}, RAM {ram}, 1-min load average {load} at start; "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


def write_section(body: str) -> None:
    text = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n"
    section = f"{HEADING}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)


def main() -> None:
    examples = load_examples()
    train, heldout = split_examples(examples)
    start = time.perf_counter()
    model = load_model()
    load_ms = (time.perf_counter() - start) * 1000
    acc_lines, accuracy = accuracy_section(heldout)
    latency = latency_ms(examples)
    body = [
        f"`.venv/bin/python bench/{Path(sys.argv[0]).name}`, run on "
        f"{dt.date.today().isoformat()}: {machine()}.",
        "",
        f"Model: softmax regression over {model.hashes.size} hashed features "
        f"(word 1-2-grams, char 3-5-grams, handcrafted cues, assistant-turn context); "
        f"trained on {len(train)} turns, evaluated on the {len(heldout)} held-out turns "
        f"(never used for training or tuning).",
        "",
        "| held-out accuracy | value |",
        "|---|---|",
        *(f"| {k} | {v:.4f} |" for k, v in accuracy.items()),
        *acc_lines,
        "",
        f"Latency of `classify_turn` over {latency['n']} calls (all {len(examples)} turns, "
        f"{LATENCY_ROUNDS} rounds, one thread, model already loaded; first load took "
        f"{load_ms:.1f} ms). The machine is shared, so p99 includes preemption by other "
        "processes:",
        "",
        "| p50 | p95 | p99 | mean |",
        "|---|---|---|---|",
        f"| {latency['p50']:.3f} ms | {latency['p95']:.3f} ms | {latency['p99']:.3f} ms "
        f"| {latency['mean']:.3f} ms |",
    ]
    report = "\n".join(body)
    print(report)
    write_section(report)
    print(f"\nwrote {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
