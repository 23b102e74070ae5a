"""GET /openapi.json matches the spec documents: paths, operationIds, fields, enums.

The seeds live in ../shared/seeds/ next to the checkout; docs/spec/ holds a copy so
the check also runs where only the repository is present.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"
COPY = ROOT / "docs" / "spec"
SPEC_DIR = SEEDS if SEEDS.is_dir() else COPY
YAML_SEEDS = ("nl-create.md", "prompt-assistant-stream.md")


def load_yaml_seed(name: str) -> dict[str, Any]:
    text = (SPEC_DIR / name).read_text()
    block = re.search(r"````yaml[^\n]*\n(.*?)````", text, re.S)
    assert block, f"no OpenAPI block in {name}"
    return yaml.safe_load(block.group(1))


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def json_schema(part: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = part["content"]["application/json"]["schema"]
    return schema


def rendered_fields(name: str, section: str, until: str) -> dict[str, dict[str, Any]]:
    """Fields of a rendered (Mintlify) spec page between two headings: name, type, required."""
    text = (SPEC_DIR / name).read_text()
    body = text.split(f"\n{section}\n", 1)[1].split(f"\n{until}\n", 1)[0]
    lines = [line.strip() for line in body.splitlines()]
    fields: dict[str, dict[str, Any]] = {}
    types = {"string", "boolean", "object", "string[]", "integer", "number", "enum<string>"}
    for i, line in enumerate(lines[:-1]):
        if re.fullmatch(r"[A-Za-z_]+", line) and lines[i + 1] in types:
            fields[line] = {"type": lines[i + 1], "required": lines[i + 2] == "required"}
    return fields


@pytest.fixture
async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_spec_copy_matches_seeds() -> None:
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not present on this machine")
    for seed in SEEDS.glob("*.md"):
        assert (COPY / seed.name).read_text() == seed.read_text(), seed.name


@pytest.mark.parametrize("seed_name", YAML_SEEDS)
def test_yaml_seed_parity(seed_name: str, openapi: dict[str, Any]) -> None:
    seed = load_yaml_seed(seed_name)
    for path, item in seed["paths"].items():
        expected, actual = item["post"], openapi["paths"][path]["post"]
        assert actual["operationId"] == expected["operationId"]
        assert actual["tags"] == expected["tags"]
        assert actual["security"] == expected["security"]
        assert set(expected["responses"]) <= set(actual["responses"])
        for status, response in expected["responses"].items():
            assert set(response["content"]) == set(actual["responses"][status]["content"])
        expected_body = resolve(
            seed, expected["requestBody"]["content"]["application/json"]["schema"]
        )
        actual_body = resolve(
            openapi, actual["requestBody"]["content"]["application/json"]["schema"]
        )
        assert actual["requestBody"]["required"] is True
        compare_schemas(seed, expected_body, openapi, actual_body, where=path)
        ok = expected["responses"]["200"]["content"]
        for media_type, content in ok.items():
            compare_schemas(
                seed,
                resolve(seed, content["schema"]),
                openapi,
                resolve(openapi, actual["responses"]["200"]["content"][media_type]["schema"]),
                where=f"{path} 200 {media_type}",
            )
    assert (
        openapi["components"]["securitySchemes"]["bearerAuth"]
        == seed["components"]["securitySchemes"]["bearerAuth"]
    )
    for name in ("AIErrorResponse", "AiModelOverride"):
        compare_schemas(
            seed,
            seed["components"]["schemas"][name],
            openapi,
            openapi["components"]["schemas"][name],
            where=name,
        )


def compare_schemas(
    seed: dict[str, Any],
    expected: dict[str, Any],
    openapi: dict[str, Any],
    actual: dict[str, Any],
    where: str,
) -> None:
    assert set(expected.get("required", [])) == set(actual.get("required", [])), where
    if "additionalProperties" in expected:
        assert actual.get("additionalProperties") == expected["additionalProperties"], where
    for name, prop in expected.get("properties", {}).items():
        assert name in actual["properties"], f"{where}: missing {name}"
        got = resolve(openapi, actual["properties"][name])
        want = resolve(seed, prop)
        if "enum" in want:
            assert got.get("enum") == want["enum"], f"{where}.{name}"
        if "type" in want:
            assert got.get("type") == want["type"], f"{where}.{name}"
        if want.get("type") == "array":
            compare_schemas(
                seed,
                resolve(seed, want["items"]),
                openapi,
                resolve(openapi, got["items"]),
                f"{where}.{name}[]",
            )
        elif "properties" in want:
            compare_schemas(seed, want, openapi, got, f"{where}.{name}")


def test_nl_edit_parity(openapi: dict[str, Any]) -> None:
    operation = openapi["paths"]["/api/ai/nl-edit"]["post"]
    assert operation["tags"] == ["AI"]
    assert operation["security"] == [{"bearerAuth": []}]
    request = resolve(openapi, json_schema(operation["requestBody"]))
    fields = rendered_fields("nl-edit.md", "Body", "Response")
    assert set(fields) == set(request["properties"])
    assert {n for n, f in fields.items() if f["required"]} == set(request["required"])
    response = resolve(
        openapi, operation["responses"]["200"]["content"]["application/json"]["schema"]
    )
    returned = rendered_fields("nl-edit.md", "Response", "\0")
    assert {n for n, f in returned.items() if f["required"]} == set(response["required"])
    override = resolve(openapi, request["properties"]["modelOverride"])
    assert override["properties"]["provider"]["enum"] == ["anthropic", "openai", "google"]
    assert override["additionalProperties"] is False


def test_qanda_parity(openapi: dict[str, Any]) -> None:
    operation = openapi["paths"]["/api/ai/personal-stream/qanda-stream"]["post"]
    request = resolve(openapi, json_schema(operation["requestBody"]))
    fields = rendered_fields("qanda-stream.md", "Body", "Response")
    assert set(fields) <= set(request["properties"])
    assert {n for n, f in fields.items() if f["required"]} == set(request["required"])
    assert request["properties"]["inputs"]["type"] == "array"
    assert request["properties"]["inputs"]["items"]["type"] == "string"
    scheme_name = next(iter(operation["security"][0]))
    scheme = openapi["components"]["securitySchemes"][scheme_name]
    assert scheme == {"type": "apiKey", "in": "header", "name": "x-access-token"}
    content = operation["responses"]["200"]["content"]
    assert list(content) == ["text/event-stream"]
    event = resolve(openapi, content["text/event-stream"]["schema"])
    text = (SPEC_DIR / "qanda-stream.md").read_text()
    options = text.split("Available options:", 1)[1].split()
    expected_types = [o.rstrip(",") for o in options if o.rstrip(",").replace("_", "").isalpha()]
    assert event["properties"]["type"]["enum"] == expected_types


def test_no_framework_validation_schema(openapi: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in openapi["components"]["schemas"]
    for item in openapi["paths"].values():
        for operation in item.values():
            assert "422" not in operation["responses"]
