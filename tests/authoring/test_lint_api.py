"""POST /api/ai/prompt-lint and `promptsmith lint`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from promptsmith.cli import app as cli

from .endpoint_helpers import BILLION_LAUGHS, LINT, Post

PROMPT = """<prompt>
  <role>You help @lead.firstName book tours.</role>
  <rules>
    <rule>Always mention pricing.</rule>
    <rule>Never mention pricing.</rule>
  </rules>
  <examples/>
</prompt>"""
VARIABLES = {"lead": {"email": "a@example.com"}}


async def test_lint_endpoint_reports_each_rule(post: Post) -> None:
    response = await post(LINT, {"prompt": PROMPT, "variableContext": VARIABLES})
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["success"] is True and payload["wellFormed"] is True
    codes = [d["code"] for d in payload["diagnostics"]]
    assert {"PS004", "PS005", "PS006", "PS008", "PS009", "PS010"} <= set(codes)
    undeclared = next(d for d in payload["diagnostics"] if d["code"] == "PS008")
    assert undeclared["severity"] == "error" and undeclared["name"] == "undeclared-variable"
    assert undeclared["location"] == {"line": 2, "column": 18, "path": "prompt/role"}
    assert "@lead.firstName" in undeclared["message"]
    assert payload["errors"] == 1
    assert payload["warnings"] == sum(d["severity"] == "warning" for d in payload["diagnostics"])


async def test_lint_without_variables_skips_variable_rules(post: Post) -> None:
    payload = (await post(LINT, {"prompt": PROMPT})).json()
    assert not {"PS008", "PS009"} & {d["code"] for d in payload["diagnostics"]}


async def test_lint_reports_malformed_xml_and_length(post: Post) -> None:
    payload = (await post(LINT, {"prompt": "<prompt><role>x</prompt>", "maxTokens": 2})).json()
    assert payload["wellFormed"] is False
    codes = {d["code"] for d in payload["diagnostics"]}
    assert {"PS001", "PS011"} <= codes


async def test_lint_reports_an_xml_bomb_without_expanding_it(post: Post) -> None:
    payload = (await post(LINT, {"prompt": BILLION_LAUGHS})).json()
    [malformed] = [d for d in payload["diagnostics"] if d["code"] == "PS001"]
    assert "DTD" in malformed["message"]


async def test_lint_requires_a_prompt_and_auth(post: Post, client: httpx.AsyncClient) -> None:
    missing = await post(LINT, {"variableContext": {}})
    assert missing.status_code == 400
    assert missing.json()["success"] is False and "prompt" in missing.text
    anonymous = await client.post(LINT, json={"prompt": PROMPT})
    assert anonymous.status_code == 401 and anonymous.json()["success"] is False


async def test_lint_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    openapi = (await client.get("/openapi.json")).json()
    operation = openapi["paths"][LINT]["post"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert {"200", "400", "401"} <= set(operation["responses"])


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["lint", *args])
    return result.exit_code, result.output


def test_cli_reports_errors_with_a_non_zero_exit(tmp_path: Path) -> None:
    path = tmp_path / "agent.xml"
    path.write_text(PROMPT)
    code, output = run_cli(str(path), "--variables", json.dumps(VARIABLES))
    assert code == 1
    assert f"{path}:2:18: error PS008 undeclared-variable:" in output
    assert "PS010 contradicting-rules" in output
    assert output.strip().endswith("1 error, 4 warnings, 1 info")


def test_cli_passes_a_clean_prompt(tmp_path: Path) -> None:
    path = tmp_path / "agent.xml"
    path.write_text(
        "<prompt><role>You help @firstName.</role><goal>Book tours.</goal>"
        "<output_format>One SMS.</output_format></prompt>"
    )
    (tmp_path / "vars.json").write_text('{"firstName": "Alex"}')
    code, output = run_cli(str(path), "--variables", f"@{tmp_path / 'vars.json'}")
    assert code == 0, output
    assert output.strip() == "0 errors, 0 warnings, 0 info"
    assert run_cli(str(path), "--variables", "{}")[0] == 1, "@firstName is now undeclared"


def test_cli_json_output(tmp_path: Path) -> None:
    path = tmp_path / "agent.xml"
    path.write_text("<prompt><role>x</role></prompt>")
    code, output = run_cli(str(path), "--json")
    assert code == 0
    report = json.loads(output)
    assert report["wellFormed"] is True and report["errors"] == 0
    assert {d["code"] for d in report["diagnostics"]} == {"PS004", "PS005"}
    assert run_cli(str(path), "--strict")[0] == 1


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli(str(tmp_path / "missing.xml"))[0] == 2
    path = tmp_path / "agent.xml"
    path.write_text("<prompt/>")
    assert run_cli(str(path), "--variables", "{not json")[0] == 2
