"""qanda-stream over HTTP, with the Anthropic SDK talking to the wire-level emulator."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from qanda_fixtures import add_assistant, astronomy_files, cooking_files, make_target

from promptsmith.app import create_app
from promptsmith.emulator.testing import Emulator
from promptsmith.qanda.ingest import Target
from promptsmith.qanda.prompt import REFUSAL
from promptsmith.services import Services
from promptsmith.testing import parse_sse

QANDA = "/api/ai/personal-stream/qanda-stream"
MODEL = "emu-qa"
API_KEY = "sk-test-emulator-key-0123456789"


@dataclass
class Stack:
    client: httpx.AsyncClient
    services: Services
    emulator: Emulator

    def headers(self, institution: str) -> dict[str, str]:
        token = self.services.verifier.mint(user="learner-1", institution=institution)
        return {"x-access-token": token}

    async def ask(self, target: Target, question: str | list[str], **args: Any) -> httpx.Response:
        request_args = {
            "institutionPublicId": target.institution.public_id,
            "assistantId": "tutor",
            "selectedCourse": {
                "course_id": target.course.course_id,
                "course_name": target.course.course_name,
            },
            "ragOnly": False,
            "userTimezone": "America/New_York",
            **args,
        }
        inputs = [question] if isinstance(question, str) else question
        return await self.client.post(
            QANDA,
            json={"inputs": inputs, "requestArgs": request_args},
            headers=self.headers(target.institution.public_id),
        )

    async def course(self, files: dict[str, bytes], **kwargs: Any) -> Target:
        target = await make_target(self.services, **kwargs)
        if kwargs.get("public_id") is None:
            await add_assistant(self.services, target)
        for name, data in files.items():
            result = await self.services.ingestor.ingest(target, name, data)
            assert result.document.status == "ready", result.document.error
        return target

    async def upstream(self, model: str = MODEL) -> list[dict[str, Any]]:
        return await self.emulator.control.requests(model=model)


@pytest.fixture
async def stack(make_settings: Any, emulator: Emulator, db_url: str) -> AsyncIterator[Stack]:
    """The app on SQLite and on PostgreSQL, its Anthropic provider pointed at the emulator."""
    settings = make_settings(
        database_url=db_url,
        default_provider="anthropic",
        default_model=MODEL,
        anthropic_api_key=API_KEY,
        anthropic_base_url=emulator.anthropic_base_url,
        max_retries=0,
    )
    services = Services.build(settings)
    app = create_app(settings, services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Stack(client, services, emulator)


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error"]
    return body


def system_text(request: dict[str, Any]) -> str:
    return "\n".join(block["text"] for block in request["body"]["system"])


def everything_sent(requests: list[dict[str, Any]]) -> str:
    return json.dumps([r["body"] for r in requests])


async def test_event_sequence_and_fields(stack: Stack) -> None:
    target = await stack.course(astronomy_files())
    response = await stack.ask(target, "What is the Great Red Spot on Jupiter?")
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    kinds = types(events)
    assert kinds[:3] == ["connected", "tool_call", "tool_result"]
    assert kinds[-2:] == ["complete", "done"] and set(kinds[3:-2]) == {"stream"}
    call, result, complete = events[1], events[2], events[-2]
    assert call["name"] == "search_course_materials"
    assert call["arguments"] == {"query": "What is the Great Red Spot on Jupiter?"}
    assert call["displayInfo"]["label"]
    assert result["call_id"] == call["call_id"] and result["name"] == call["name"]
    assert 1 <= len(result["results"]) <= 8
    first = result["results"][0]
    assert set(first) == {"n", "document", "title", "page", "snippet", "score"}
    assert first["n"] == 1 and first["document"] == "planets.pdf" and first["page"] == 1
    assert "Red Spot" in first["snippet"]
    streamed = [e for e in events if e["type"] == "stream"]
    assert streamed[-1]["prompt"] == "".join(e["delta"] for e in streamed)
    assert complete["success"] is True and complete["outputs"] == [streamed[-1]["prompt"]]
    assert complete["model"] == MODEL
    assert complete["usage"] > 0 and complete["completion"] > 0 and complete["cached"] == 0
    [request] = await stack.upstream()
    stable, context = request["body"]["system"]
    assert stable["cache_control"] == {"type": "ephemeral"}
    assert "<role>You are a patient tutor.</role>" in stable["text"]
    assert "cache_control" not in context and "Great Red Spot" in context["text"]
    assert request["body"]["messages"][-1]["content"][0]["text"].endswith("Jupiter?") or (
        "Jupiter?" in json.dumps(request["body"]["messages"])
    )


async def test_rag_only_refusal_calls_no_model(stack: Stack) -> None:
    target = await stack.course(astronomy_files())
    response = await stack.ask(
        target, "How do I register a limited company for tax purposes?", ragOnly=True
    )
    events = parse_sse(response.text)
    assert types(events) == ["connected", "tool_call", "tool_result", "stream", "complete", "done"]
    assert events[2]["results"] == []
    assert events[3]["prompt"] == REFUSAL and events[4]["outputs"] == [REFUSAL]
    assert events[4]["usage"] == 0 and events[4]["citations"] == []
    assert await stack.emulator.control.requests() == []


async def test_rag_only_answers_from_materials(stack: Stack) -> None:
    target = await stack.course(astronomy_files())
    response = await stack.ask(target, "Why is Mars called the red planet?", ragOnly=True)
    events = parse_sse(response.text)
    assert events[2]["results"] and types(events)[-2:] == ["complete", "done"]
    [request] = await stack.upstream()
    assert "ONLY the numbered course materials" in system_text(request)
    assert "iron oxide" in system_text(request)


async def test_citations_that_match_no_chunk_are_dropped(stack: Stack) -> None:
    target = await stack.course(astronomy_files())
    await stack.emulator.control.queue(
        MODEL,
        {"chunks": ["Jupiter is the largest planet [", "1", "] with a storm [9", "]. Yes [1, 7]."]},
    )
    events = parse_sse((await stack.ask(target, "Which planet is the largest?")).text)
    complete = events[-2]
    answer = complete["outputs"][0]
    assert answer == "Jupiter is the largest planet [1] with a storm . Yes [1]."
    assert [e for e in events if e["type"] == "stream"][-1]["prompt"] == answer
    assert [c["n"] for c in complete["citations"]] == [1]
    assert complete["citations"][0]["document"] == events[2]["results"][0]["document"]


async def test_learner_local_time_is_in_the_prompt(stack: Stack) -> None:
    target = await stack.course(cooking_files(), course_id=5)
    await stack.ask(target, "How long should sourdough proof?", userTimezone="Asia/Tokyo")
    [request] = await stack.upstream()
    text = system_text(request)
    now = datetime.now(ZoneInfo("Asia/Tokyo"))
    assert "Asia/Tokyo, UTC+09:00" in text
    assert now.strftime("%d %B %Y") in text or now.strftime("%A") in text


async def test_default_timezone_is_utc(stack: Stack) -> None:
    target = await stack.course(cooking_files(), course_id=5)
    await stack.ask(target, "How long should sourdough proof?", userTimezone=None)
    assert "(UTC, UTC+00:00)" in system_text((await stack.upstream())[0])


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "EST5EDT-nope", " "])
async def test_invalid_timezone_is_400(stack: Stack, zone: str) -> None:
    target = await stack.course({})
    response = await stack.ask(target, "hi", userTimezone=zone)
    if zone.strip():
        envelope(response, 400)
    else:
        assert response.status_code == 200  # blank means "not given": UTC


async def test_token_for_another_institution_is_403(stack: Stack) -> None:
    target = await stack.course({})
    other = str(uuid.uuid4())
    response = await stack.client.post(
        QANDA,
        json={
            "inputs": ["hi"],
            "requestArgs": {"institutionPublicId": target.institution.public_id},
        },
        headers=stack.headers(other),
    )
    envelope(response, 403)
    assert await stack.emulator.control.requests() == []


async def test_unknown_assistant_or_course_is_404(stack: Stack) -> None:
    target = await stack.course({})
    envelope(await stack.ask(target, "hi", assistantId="nobody"), 404)
    envelope(
        await stack.ask(target, "hi", selectedCourse={"course_id": 999, "course_name": "x"}), 404
    )
    elsewhere = await stack.course({}, course_id=77)  # another institution's course 77
    envelope(
        await stack.ask(target, "hi", selectedCourse={"course_id": 77, "course_name": "x"}), 404
    )
    assert elsewhere.course.course_id == 77


async def test_isolation_between_courses_and_institutions(stack: Stack) -> None:
    """Another course's or institution's chunks never reach results or upstream prompts."""
    mine = await stack.course(astronomy_files(), course_id=1)
    sibling = await stack.course(cooking_files(), public_id=mine.institution.public_id, course_id=2)
    stranger = await stack.course(
        {"secret.md": b"# Zebrafoxtrot\n\nThe zebrafoxtrot protocol is sourdough pasta."},
        course_id=1,
    )
    questions = [
        "How long should sourdough proof?",  # the sibling course's material
        "What is the zebrafoxtrot protocol?",  # the other institution's material
        "How do I cook fresh pasta?",
    ]
    for question in questions:
        events = parse_sse((await stack.ask(mine, question)).text)
        documents = {r["document"] for r in events[2]["results"]}
        assert documents <= set(astronomy_files()), (question, documents)
    sent = everything_sent(await stack.upstream())
    for leaked in (
        "sourdough bread is leavened",
        "Dutch oven",
        "semolina",
        "zebrafoxtrot protocol is",
    ):
        assert leaked.lower() not in sent.lower()
    assert sibling.course.id != mine.course.id and stranger.institution.id != mine.institution.id


async def test_assistant_model_is_used(stack: Stack) -> None:
    target = await stack.course(astronomy_files())
    from promptsmith.storage import assistants

    await assistants.create(
        stack.services.db,
        target.institution,
        assistant_id="pinned",
        name="Pinned",
        provider="anthropic",
        model="emu-assistant",
    )
    events = parse_sse((await stack.ask(target, "Tell me about Saturn", assistantId="pinned")).text)
    assert events[-2]["model"] == "emu-assistant"
    assert len(await stack.upstream("emu-assistant")) == 1 and await stack.upstream() == []


async def test_cached_tokens_are_reported(stack: Stack) -> None:
    target = await stack.course(astronomy_files())
    await stack.services.router.resolve()  # warm nothing; the model name selects caching
    from promptsmith.storage import orgs

    await orgs.set_model_assignment(stack.services.db, "org-1", "anthropic", "emu-cached")
    events = parse_sse((await stack.ask(target, "Tell me about Saturn")).text)
    assert events[-2]["model"] == "emu-cached" and events[-2]["cached"] == 1024


async def test_failure_mid_answer_is_error_then_done(stack: Stack) -> None:
    target = await stack.course(astronomy_files())
    from promptsmith.storage import orgs

    await orgs.set_model_assignment(stack.services.db, "org-1", "anthropic", "emu-drop2")
    events = parse_sse((await stack.ask(target, "Tell me about Saturn")).text)
    assert types(events)[-2:] == ["error", "done"] and types(events).count("done") == 1


async def test_history_reaches_the_model(stack: Stack) -> None:
    target = await stack.course(astronomy_files())
    await stack.ask(target, ["I study the planets.", "Which planet has rings?"])
    sent = everything_sent(await stack.upstream())
    assert "I study the planets." in sent and "Which planet has rings?" in sent


async def test_with_the_real_minilm_embedder(stack: Stack, tmp_path: Any) -> None:
    """The calibrated relevance floor with all-MiniLM-L6-v2: answer in-course, refuse off-topic."""
    from promptsmith.retrieval.embeddings import get_embedder

    stack.services.embedders.set(get_embedder(tmp_path))
    target = await stack.course({**astronomy_files(), **cooking_files()})
    events = parse_sse(
        (await stack.ask(target, "What happens to massive stars when they die?", ragOnly=True)).text
    )
    results = events[2]["results"]
    assert results and results[0]["document"] == "stars.docx"
    assert results[0]["title"] == "Stellar Evolution > Death of stars"
    assert len(await stack.upstream()) == 1
    refused = parse_sse(
        (await stack.ask(target, "Who won the football world cup in 1998?", ragOnly=True)).text
    )
    assert refused[-2]["outputs"] == [REFUSAL]
    assert len(await stack.upstream()) == 1  # still only the first question's call


async def test_public_id_spelling_does_not_matter(stack: Stack) -> None:
    target = await stack.course(astronomy_files())
    upper = target.institution.public_id.upper()
    response = await stack.client.post(
        QANDA,
        json={
            "inputs": ["Tell me about Saturn"],
            "requestArgs": {
                "institutionPublicId": upper,
                "assistantId": "tutor",
                "selectedCourse": {"course_id": target.course.course_id},
            },
        },
        headers=stack.headers(target.institution.public_id),
    )
    assert types(parse_sse(response.text))[-2:] == ["complete", "done"]


async def test_rag_only_without_a_course_calls_no_model(stack: Stack) -> None:
    target = await stack.course({})
    response = await stack.client.post(
        QANDA,
        json={
            "inputs": ["What is a black hole?"],
            "requestArgs": {"institutionPublicId": target.institution.public_id, "ragOnly": True},
        },
        headers=stack.headers(target.institution.public_id),
    )
    events = parse_sse(response.text)
    assert types(events) == ["connected", "stream", "complete", "done"]
    assert events[2]["outputs"] == [REFUSAL]
    assert await stack.emulator.control.requests() == []


async def test_end_to_end_through_the_admin_api(stack: Stack) -> None:
    """Two organisations set up their own institutions over HTTP; learners only see theirs."""
    client, verifier = stack.client, stack.services.verifier
    setups = {}
    for org, files in (("org-a", astronomy_files()), ("org-b", cooking_files())):
        admin = {"Authorization": f"Bearer {verifier.mint(user='a', org=org, role='admin')}"}
        public_id = str(uuid.uuid4())
        base = f"/api/admin/institutions/{public_id}"
        await client.post(
            "/api/admin/institutions", json={"public_id": public_id, "name": org}, headers=admin
        )
        await client.post(f"{base}/assistants", json={"id": "tutor", "name": "T"}, headers=admin)
        await client.post(
            f"{base}/courses", json={"course_id": 1, "course_name": "Course"}, headers=admin
        )
        uploaded = await client.post(
            f"{base}/courses/1/documents",
            files=[("files", (n, d)) for n, d in files.items()],
            headers=admin,
        )
        assert uploaded.status_code == 201, uploaded.text
        setups[org] = public_id
    request_args = {
        "institutionPublicId": setups["org-a"],
        "assistantId": "tutor",
        "selectedCourse": {"course_id": 1, "course_name": "Course"},
    }
    body = {
        "inputs": ["How long should sourdough proof in the refrigerator?"],
        "requestArgs": request_args,
    }
    response = await client.post(QANDA, json=body, headers=stack.headers(setups["org-a"]))
    events = parse_sse(response.text)
    assert {r["document"] for r in events[2]["results"]} <= set(astronomy_files())
    assert "twelve hours" not in everything_sent(await stack.upstream())
    stolen = await client.post(QANDA, json=body, headers=stack.headers(setups["org-b"]))
    envelope(stolen, 403)


async def test_six_to_eight_numbered_chunks_go_to_the_model(stack: Stack) -> None:
    topics = [
        "comets",
        "asteroids",
        "nebulae",
        "quasars",
        "pulsars",
        "galaxies",
        "moons",
        "eclipses",
        "meteors",
        "auroras",
    ]
    sections = "\n\n".join(
        f"# {topic.title()}\n\n" + f"Astronomers study {topic} with telescopes and probes. " * 20
        for topic in topics
    )
    target = await stack.course({"sky.md": sections.encode()})
    events = parse_sse((await stack.ask(target, "How do astronomers study comets?")).text)
    results = events[2]["results"]
    assert 6 <= len(results) <= 8
    assert [r["n"] for r in results] == list(range(1, len(results) + 1))
    assert results[0]["title"] == "Comets"
    [request] = await stack.upstream()
    context = request["body"]["system"][1]["text"]
    assert all(f'<source n="{r["n"]}"' in context for r in results)


async def test_client_disconnect_closes_the_upstream_call(
    make_settings: Any, emulator: Emulator
) -> None:
    """On a real socket: the learner goes away mid-answer, the model call is closed."""
    from promptsmith.testing import LiveServer

    model = "emu-stream-400x10ms"  # four seconds of tokens
    settings = make_settings(
        default_provider="anthropic",
        default_model=model,
        anthropic_api_key=API_KEY,
        anthropic_base_url=emulator.anthropic_base_url,
    )
    services = Services.build(settings)
    admin = {"Authorization": f"Bearer {services.verifier.mint(user='a', org='o', role='admin')}"}
    public_id = str(uuid.uuid4())
    base = f"/api/admin/institutions/{public_id}"
    with LiveServer(create_app(settings, services)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            await client.post(
                "/api/admin/institutions", json={"public_id": public_id, "name": "U"}, headers=admin
            )
            await client.post(
                f"{base}/courses", json={"course_id": 1, "course_name": "C"}, headers=admin
            )
            files = [("files", (n, d)) for n, d in astronomy_files().items()]
            assert (
                await client.post(f"{base}/courses/1/documents", files=files, headers=admin)
            ).status_code == 201
            body = {
                "inputs": ["Tell me about Jupiter"],
                "requestArgs": {
                    "institutionPublicId": public_id,
                    "selectedCourse": {"course_id": 1},
                },
            }
            token = services.verifier.mint(user="l", institution=public_id)
            async with client.stream(
                "POST", QANDA, json=body, headers={"x-access-token": token}
            ) as response:
                seen = 0
                async for line in response.aiter_lines():
                    seen += '"type":"stream"' in line
                    if seen == 3:
                        break
        connection = await emulator.control.wait_closed(model)
    assert connection["outcome"] == "client_disconnected"
    assert 3 <= connection["tokens_sent"] < 400


async def test_short_follow_up_searches_with_the_previous_message(stack: Stack) -> None:
    target = await stack.course(astronomy_files())
    events = parse_sse(
        (await stack.ask(target, ["Tell me about the planet Mars.", "Why red?"])).text
    )
    assert events[1]["arguments"] == {"query": "Tell me about the planet Mars. Why red?"}
    long = "Which planet has a thick carbon dioxide atmosphere?"
    events = parse_sse((await stack.ask(target, ["Tell me about Mars.", long])).text)
    assert events[1]["arguments"] == {"query": long}
