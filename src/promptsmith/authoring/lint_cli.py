"""`promptsmith lint FILE [--variables JSON] [--json]`: the linter on the command line.

Exit status: 0 when there are no errors (warnings and infos are fine; with
`--strict`, warnings fail too), 1 when there are, 2 for a usage problem (no
such file, invalid JSON).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from .lint import DEFAULT_CONFIG, Diagnostic, LintConfig, lint


def lint_command(
    file: Annotated[str, typer.Argument(help="The prompt file to lint, or - for stdin.")],
    variables: Annotated[
        str | None,
        typer.Option(
            "--variables",
            help=(
                'variableContext as JSON (e.g. \'{"lead": {"firstName": "Alex"}}\'), '
                "or @FILE to read it from a JSON file. Without it, variable rules are off."
            ),
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    max_tokens: Annotated[
        int, typer.Option("--max-tokens", min=1, help="Token budget for PS011.")
    ] = DEFAULT_CONFIG.max_tokens,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
) -> None:
    """Lint an XML prompt: well-formedness, sections, variables, contradictions, length."""
    text = _read_prompt(file)
    context = _read_variables(variables)
    diagnostics = lint(text, context, LintConfig(max_tokens=max_tokens))
    counts: Counter[str] = Counter(d.severity for d in diagnostics)
    if as_json:
        typer.echo(json.dumps(_report(file, diagnostics, counts), indent=2, ensure_ascii=False))
    else:
        for diagnostic in diagnostics:
            typer.echo(_line(file, diagnostic))
        typer.echo(_summary(counts))
    if counts["error"] or (strict and counts["warning"]):
        raise typer.Exit(1)


def _read_prompt(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    path = Path(file)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc}", param_hint="FILE") from None


def _read_variables(value: str | None) -> Any:
    if value is None:
        return None
    source = value
    if value.startswith("@"):
        try:
            source = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(
                f"cannot read {value[1:]}: {exc}", param_hint="--variables"
            ) from None
    try:
        context = json.loads(source)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint="--variables") from None
    if not isinstance(context, dict | list):
        raise typer.BadParameter("must be a JSON object or list", param_hint="--variables")
    return context


def _line(file: str, d: Diagnostic) -> str:
    where = f" ({d.location.path})" if d.location.path else ""
    head = f"{file}:{d.location.line}:{d.location.column}"
    return f"{head}: {d.severity} {d.code} {d.name}: {d.message}{where}"


def _summary(counts: Counter[str]) -> str:
    def plural(n: int, word: str) -> str:
        return f"{n} {word}" + ("" if n == 1 else "s")

    parts = [plural(counts["error"], "error"), plural(counts["warning"], "warning")]
    return ", ".join(parts) + f", {counts['info']} info"


def _report(file: str, diagnostics: list[Diagnostic], counts: Counter[str]) -> dict[str, Any]:
    return {
        "file": file,
        "wellFormed": not any(d.code in ("PS001", "PS002") for d in diagnostics),
        "errors": counts["error"],
        "warnings": counts["warning"],
        "infos": counts["info"],
        "diagnostics": [d.to_dict() for d in diagnostics],
    }
