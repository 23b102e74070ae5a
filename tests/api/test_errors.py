"""Every error response is the envelope, with the right status and a clear error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from promptsmith.providers.scripted import ScriptedProvider

NL_CREATE = "/api/ai/nl-create"
NL_EDIT = "/api/ai/nl-edit"
ASSISTANT = "/api/ai/prompt-assistant/stream"
QANDA = "/api/ai/personal-stream/qanda-stream"


def assert_envelope(
    response: httpx.Response, status: int, error: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    assert set(body) >= {"success", "error"}
    assert "detail" not in body
    if "message" in body:
        assert isinstance(body["message"], str)
    if error is not None:
        assert body["error"] == error
    return body


@pytest.mark.parametrize("path", [NL_CREATE, ASSISTANT])
@pytest.mark.parametrize("body", [{}, {"instruction": ""}, {"instruction": "   \n\t"}])
async def test_missing_or_blank_instruction(
    client: httpx.AsyncClient, org_headers: dict[str, str], path: str, body: dict[str, Any]
) -> None:
    response = await client.post(path, json=body, headers=org_headers)
    assert_envelope(response, 400, "instruction is required")


async def test_missing_body_is_instruction_required(
    client: httpx.AsyncClient, org_headers: dict[str, str]
) -> None:
    response = await client.post(NL_CREATE, headers=org_headers)
    body = assert_envelope(response, 400)
    assert "body" in body["error"].lower() or body["error"] == "instruction is required"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"instruction": "tighten it"}, "selectedText is required"),
        ({"instruction": "tighten it", "selectedText": " "}, "selectedText is required"),
        ({"selectedText": "Reply promptly."}, "instruction is required"),
    ],
)
async def test_nl_edit_required_fields(
    client: httpx.AsyncClient, org_headers: dict[str, str], body: dict[str, Any], error: str
) -> None:
    response = await client.post(NL_EDIT, json=body, headers=org_headers)
    assert_envelope(response, 400, error)


@pytest.mark.parametrize("inputs", [None, [], [""], ["first", "  "]])
async def test_qanda_inputs_required(
    client: httpx.AsyncClient, institution_headers: dict[str, str], inputs: list[str] | None
) -> None:
    body: dict[str, Any] = {} if inputs is None else {"inputs": inputs}
    response = await client.post(QANDA, json=body, headers=institution_headers)
    assert_envelope(response, 400, "inputs is required")


async def test_malformed_json(client: httpx.AsyncClient, org_headers: dict[str, str]) -> None:
    headers = {**org_headers, "content-type": "application/json"}
    response = await client.post(NL_CREATE, content=b'{"instruction": ', headers=headers)
    body = assert_envelope(response, 400, "Malformed JSON body")
    assert "JSON" in body["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instruction": 42}, "instruction"),
        ({"instruction": "x", "existingPrompt": ["a"]}, "existingPrompt"),
        ({"instruction": "x", "assistedMode": "maybe"}, "assistedMode"),
        ({"instruction": "x", "conversationHistory": "hello"}, "conversationHistory"),
        ({"instruction": "x", "variableContext": [1, 2]}, "variableContext"),
    ],
)
async def test_wrong_field_type_names_the_field(
    client: httpx.AsyncClient, org_headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.post(NL_CREATE, json=body, headers=org_headers)
    envelope = assert_envelope(response, 400)
    assert field in envelope["message"]


async def test_json_array_body(client: httpx.AsyncClient, org_headers: dict[str, str]) -> None:
    response = await client.post(NL_CREATE, json=["instruction"], headers=org_headers)
    assert_envelope(response, 400, "Request body must be a JSON object")


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"provider": "mistral", "model": "x"}, "modelOverride.provider"),
        ({"provider": "openai", "model": ""}, "modelOverride.model"),
        ({"provider": "openai"}, "modelOverride.model"),
        ({"provider": "openai", "model": "gpt-4o", "temperature": 1}, "modelOverride.temperature"),
    ],
)
async def test_model_override_is_strict(
    client: httpx.AsyncClient, org_headers: dict[str, str], override: dict[str, Any], field: str
) -> None:
    body = {"instruction": "x", "modelOverride": override}
    response = await client.post(NL_CREATE, json=body, headers=org_headers)
    assert field in assert_envelope(response, 400)["message"]


async def test_unknown_top_level_fields_are_accepted(
    client: httpx.AsyncClient, org_headers: dict[str, str]
) -> None:
    body = {"instruction": "Draft a greeter", "someFutureField": {"a": 1}}
    response = await client.post(NL_CREATE, json=body, headers=org_headers)
    assert response.status_code == 200, response.text


async def test_control_characters_rejected(
    client: httpx.AsyncClient, org_headers: dict[str, str]
) -> None:
    response = await client.post(NL_CREATE, json={"instruction": "a\u0000b"}, headers=org_headers)
    assert "U+0000" in assert_envelope(response, 400)["message"]


async def test_invalid_utf8(client: httpx.AsyncClient, org_headers: dict[str, str]) -> None:
    headers = {**org_headers, "content-type": "application/json"}
    response = await client.post(NL_CREATE, content=b'{"instruction": "\xff\xfe"}', headers=headers)
    assert "UTF-8" in assert_envelope(response, 400, "Malformed JSON body")["message"]


async def test_deeply_nested_json(client: httpx.AsyncClient, org_headers: dict[str, str]) -> None:
    headers = {**org_headers, "content-type": "application/json"}
    body = b'{"instruction": "x", "deep": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    response = await client.post(NL_CREATE, content=body, headers=headers)
    assert "nested" in assert_envelope(response, 400, "Malformed JSON body")["message"]


async def test_too_many_history_entries(
    client: httpx.AsyncClient, org_headers: dict[str, str]
) -> None:
    history = [{"role": "user", "content": "hi"}] * 10_000
    body = {"instruction": "x", "conversationHistory": history}
    response = await client.post(NL_CREATE, json=body, headers=org_headers)
    assert "conversationHistory" in assert_envelope(response, 400)["message"]


async def test_non_json_content_type(
    client: httpx.AsyncClient, org_headers: dict[str, str]
) -> None:
    headers = {**org_headers, "content-type": "text/xml"}
    response = await client.post(NL_CREATE, content=b"<prompt/>", headers=headers)
    assert_envelope(response, 415)


async def test_body_without_content_type_is_read_as_json(
    client: httpx.AsyncClient, org_headers: dict[str, str]
) -> None:
    response = await client.post(NL_CREATE, content=b'{"instruction": "x"}', headers=org_headers)
    assert response.status_code == 200, response.text


async def test_body_over_limit_by_header(
    client: httpx.AsyncClient, org_headers: dict[str, str]
) -> None:
    big = {"instruction": "x" * (1024 * 1024 + 10)}
    response = await client.post(NL_CREATE, json=big, headers=org_headers)
    assert_envelope(response, 413, "Payload Too Large")


async def test_body_over_limit_without_content_length(
    client: httpx.AsyncClient, org_headers: dict[str, str]
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"instruction": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post(NL_CREATE, content=chunks(), headers=org_headers)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_envelope(response, 413, "Payload Too Large")


async def test_body_limit_is_configurable(make_settings, scripted) -> None:  # type: ignore[no-untyped-def]
    from promptsmith.app import create_app
    from promptsmith.services import Services

    settings = make_settings(max_body_bytes=2048)
    services = Services.build(settings)
    app = create_app(settings, services)
    token = services.verifier.mint(user="u", org="o")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post(
                NL_CREATE,
                json={"instruction": "x" * 3000},
                headers={"Authorization": f"Bearer {token}"},
            )
    assert_envelope(response, 413)


@pytest.mark.parametrize("path", [NL_CREATE, NL_EDIT, ASSISTANT])
async def test_missing_bearer_token(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, json={"instruction": "x", "selectedText": "y"})
    assert_envelope(response, 401, "Unauthorized")


async def test_auth_is_checked_before_the_body(client: httpx.AsyncClient) -> None:
    response = await client.post(NL_CREATE, content=b"{not json")
    assert_envelope(response, 401, "Unauthorized")


async def test_missing_access_token(client: httpx.AsyncClient) -> None:
    response = await client.post(QANDA, json={"inputs": ["hi"]})
    assert_envelope(response, 401, "Unauthorized")


async def test_unknown_path(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/ai/nope")
    assert_envelope(response, 404, "Not Found")


async def test_wrong_method(client: httpx.AsyncClient) -> None:
    response = await client.get(NL_CREATE)
    assert_envelope(response, 405, "Method Not Allowed")
    assert "POST" in response.headers["allow"]


async def test_unexpected_failure_is_a_generic_500(
    client: httpx.AsyncClient,
    org_headers: dict[str, str],
    scripted: ScriptedProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(request):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail /etc/passwd")

    scripted._function = explode
    response = await client.post(NL_CREATE, json={"instruction": "x"}, headers=org_headers)
    body = assert_envelope(response, 500, "Internal Server Error")
    request_id = response.headers["x-request-id"]
    assert body["requestId"] == request_id
    assert request_id in body["message"]
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records)


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"x-request-id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    unsafe = await client.get("/healthz", headers={"x-request-id": "bad id\u00e9"[:6]})
    assert unsafe.headers["x-request-id"] != "bad id"


async def test_metrics_endpoint(client: httpx.AsyncClient, org_headers: dict[str, str]) -> None:
    await client.post(NL_CREATE, json={"instruction": "x"}, headers=org_headers)
    await client.get("/no/such/path/12345")
    metrics = (await client.get("/metrics")).text
    assert 'route="/api/ai/nl-create"' in metrics
    assert 'route="unmatched"' in metrics
    assert "/no/such/path/12345" not in metrics
    assert "promptsmith_provider_calls_total" in metrics
