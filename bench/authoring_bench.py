"""Benchmark the XML prompt toolkit on realistic and pathological inputs.

Run: .venv/bin/python bench/authoring_bench.py
Prints one line per case: median wall time over a few runs. Results are written down in
bench/authoring.md together with the machine they ran on.
"""

from __future__ import annotations

import asyncio
import contextlib
import platform
import statistics
import time
from collections.abc import Callable

from promptsmith.authoring.changes import refine
from promptsmith.authoring.drafts import validate_draft
from promptsmith.authoring.lint import lint
from promptsmith.authoring.repair import repair
from promptsmith.authoring.splice import check_rewrite, locate_selection
from promptsmith.authoring.variables import parse_variable_context
from promptsmith.authoring.xml import PromptXMLError, parse_prompt

RULES = "\n".join(
    f"    <rule>Always confirm detail {i} with @firstName.</rule>" for i in range(300)
)
TYPICAL = f"""<prompt>
  <role>You are the leasing assistant for @propertyName.</role>
  <goal>Book a tour within 48 hours.</goal>
  <rules>
{RULES}
  </rules>
  <output_format>One SMS under 300 characters.</output_format>
</prompt>"""
VARIABLES = {"firstName": "Alex", "propertyName": "Maple Court"}
CONTRACT = parse_variable_context(VARIABLES)
PATHOLOGICAL = {
    "repair: 100k unterminated <?": "<?" * 100_000,
    "repair: 50k unterminated <!--": "<!--" * 50_000,
    "repair: 25k <prompt> openings": "<prompt>" * 25_000,
    "repair: 66k <a>": "<a>" * 66_000,
    "repair: 200k bare &": "&" * 200_000,
}


async def _no_reask(previous: str, problem: str) -> str:
    raise AssertionError(f"the benchmark draft should need no re-ask: {problem}")


def _time(action: Callable[[], object], runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        with contextlib.suppress(PromptXMLError):
            action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    revised = TYPICAL.replace("Book a tour within 48 hours.", "Book a tour within 24 hours.")
    selection = locate_selection(TYPICAL, "Book a tour within 48 hours.")
    cases: dict[str, Callable[[], object]] = {
        f"parse_prompt ({len(TYPICAL):,} chars)": lambda: parse_prompt(TYPICAL),
        "lint (same prompt, with variables)": lambda: lint(TYPICAL, VARIABLES),
        "refine (full re-emission, one section changed)": lambda: refine(TYPICAL, revised),
        "check_rewrite (nl-edit)": lambda: check_rewrite(selection, "Book within 24h."),
        "repair (damaged typical prompt)": lambda: repair(TYPICAL.replace("</goal>", "")),
        "validate_draft (nl-create/draft-ready checks: refine, contract, lint)": lambda: (
            asyncio.run(validate_draft(TYPICAL, revised, CONTRACT, _no_reask))
        ),
    }
    cases.update({name: (lambda text=text: repair(text)) for name, text in PATHOLOGICAL.items()})
    print(f"# {platform.platform()} / Python {platform.python_version()} / {platform.processor()}")
    for name, action in cases.items():
        print(f"{_time(action) * 1000:10.1f} ms  {name}")


if __name__ == "__main__":
    main()
