"""Admin REST API for course Q&A: org scoping, envelopes, uploads (multipart and JSON), jobs."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest
from qanda_fixtures import astronomy_files, cooking_files, scanned_pdf

from promptsmith.services import Services

ADMIN = "/api/admin"


def admin_headers(services: Services, org: str = "org-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {services.verifier.mint(user='boss', org=org, role='admin')}"}


def assert_envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error"]
    return body


async def create_course(
    client: httpx.AsyncClient, headers: dict[str, str], course_id: int = 7
) -> str:
    public_id = str(uuid.uuid4())
    response = await client.post(
        f"{ADMIN}/institutions", json={"public_id": public_id, "name": "Uni"}, headers=headers
    )
    assert response.status_code == 201, response.text
    response = await client.post(
        f"{ADMIN}/institutions/{public_id}/courses",
        json={"course_id": course_id, "course_name": "Astronomy"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return public_id


async def test_institution_assistant_course_lifecycle(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = admin_headers(services)
    public_id = await create_course(client, headers)
    got = await client.get(f"{ADMIN}/institutions/{public_id}", headers=headers)
    assert got.json()["institution"] == {
        "public_id": public_id,
        "name": "Uni",
        "org": "org-1",
        "created_at": got.json()["institution"]["created_at"],
    }
    listed = await client.get(f"{ADMIN}/institutions", headers=headers)
    assert [i["public_id"] for i in listed.json()["institutions"]] == [public_id]
    assistant = {
        "id": "6856fa89cbafcff8d98680f5",
        "name": "Tutor",
        "instructions": "<role>Tutor</role>",
        "provider": "anthropic",
        "model": "claude-sonnet-4-6",
    }
    created = await client.post(
        f"{ADMIN}/institutions/{public_id}/assistants", json=assistant, headers=headers
    )
    assert created.status_code == 201, created.text
    one = await client.get(
        f"{ADMIN}/institutions/{public_id}/assistants/{assistant['id']}", headers=headers
    )
    assert one.json()["assistant"]["instructions"] == "<role>Tutor</role>"
    every = await client.get(f"{ADMIN}/institutions/{public_id}/assistants", headers=headers)
    assert [a["id"] for a in every.json()["assistants"]] == [assistant["id"]]
    courses = await client.get(f"{ADMIN}/institutions/{public_id}/courses", headers=headers)
    assert courses.json()["courses"][0]["course_id"] == 7


async def test_duplicates_are_409(client: httpx.AsyncClient, services: Services) -> None:
    headers = admin_headers(services)
    public_id = await create_course(client, headers)
    again = await client.post(
        f"{ADMIN}/institutions", json={"public_id": public_id, "name": "x"}, headers=headers
    )
    assert_envelope(again, 409)
    course = await client.post(
        f"{ADMIN}/institutions/{public_id}/courses",
        json={"course_id": 7, "course_name": "x"},
        headers=headers,
    )
    assert_envelope(course, 409)
    body = {"id": "a", "name": "A"}
    path = f"{ADMIN}/institutions/{public_id}/assistants"
    assert (await client.post(path, json=body, headers=headers)).status_code == 201
    assert_envelope(await client.post(path, json=body, headers=headers), 409)


@pytest.mark.parametrize(
    "body",
    [
        {"public_id": "not-a-uuid", "name": "x"},
        {"public_id": str(uuid.uuid4()), "name": ""},
        {"public_id": str(uuid.uuid4())},
        {"public_id": str(uuid.uuid4()), "name": "x", "extra": 1},
    ],
)
async def test_bad_institution_input_is_400(
    client: httpx.AsyncClient, services: Services, body: dict[str, Any]
) -> None:
    response = await client.post(
        f"{ADMIN}/institutions", json=body, headers=admin_headers(services)
    )
    assert_envelope(response, 400)


async def test_provider_without_model_is_400(client: httpx.AsyncClient, services: Services) -> None:
    headers = admin_headers(services)
    public_id = await create_course(client, headers)
    response = await client.post(
        f"{ADMIN}/institutions/{public_id}/assistants",
        json={"id": "a", "name": "A", "provider": "openai"},
        headers=headers,
    )
    assert_envelope(response, 400)


async def test_other_org_sees_404_never_the_data(
    client: httpx.AsyncClient, services: Services
) -> None:
    mine = admin_headers(services, "org-1")
    theirs = admin_headers(services, "org-2")
    public_id = await create_course(client, mine)
    base = f"{ADMIN}/institutions/{public_id}"
    upload = await client.post(
        f"{base}/courses/7/documents",
        json={"filename": "notes.md", "content": "# Notes\n\nSecret material."},
        headers=mine,
    )
    document_id = upload.json()["documents"][0]["id"]
    for path in (
        base,
        f"{base}/assistants",
        f"{base}/courses",
        f"{base}/courses/7",
        f"{base}/courses/7/documents",
        f"{base}/courses/7/documents/{document_id}",
    ):
        body = assert_envelope(await client.get(path, headers=theirs), 404)
        assert "Secret" not in str(body)
    assert_envelope(
        await client.delete(f"{base}/courses/7/documents/{document_id}", headers=theirs), 404
    )
    assert (await client.get(f"{ADMIN}/institutions", headers=theirs)).json()["institutions"] == []
    still = await client.get(f"{base}/courses/7/documents", headers=mine)
    assert len(still.json()["documents"]) == 1


async def test_non_admin_and_missing_token(client: httpx.AsyncClient, services: Services) -> None:
    plain = {"Authorization": f"Bearer {services.verifier.mint(user='u', org='org-1')}"}
    assert_envelope(await client.get(f"{ADMIN}/institutions", headers=plain), 403)
    assert_envelope(await client.get(f"{ADMIN}/institutions"), 401)


async def test_multipart_upload_of_every_format(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = admin_headers(services)
    public_id = await create_course(client, headers)
    path = f"{ADMIN}/institutions/{public_id}/courses/7/documents"
    files = [
        ("files", (name, data)) for name, data in {**astronomy_files(), **cooking_files()}.items()
    ]
    response = await client.post(path, files=files, headers=headers)
    assert response.status_code == 201, response.text
    uploaded = response.json()["documents"]
    assert {d["filename"] for d in uploaded} == {
        "planets.pdf",
        "stars.docx",
        "bread.html",
        "pasta.md",
    }
    assert all(d["status"] == "ready" and d["created"] for d in uploaded)
    assert all(
        d["phases"] == dict.fromkeys(("extract", "chunk", "embed", "index"), "done")
        for d in uploaded
    )
    again = await client.post(path, files=files[:1], headers=headers)
    assert again.status_code == 200 and again.json()["documents"][0]["created"] is False
    listed = await client.get(path, headers=headers)
    assert len(listed.json()["documents"]) == 4


async def test_json_upload_text_and_base64(client: httpx.AsyncClient, services: Services) -> None:
    headers = admin_headers(services)
    public_id = await create_course(client, headers)
    path = f"{ADMIN}/institutions/{public_id}/courses/7/documents"
    text = await client.post(
        path, json={"filename": "a.md", "content": "# A\n\nAlpha text."}, headers=headers
    )
    assert text.status_code == 201, text.text
    encoded = base64.b64encode(cooking_files()["bread.html"]).decode()
    b64 = await client.post(
        path,
        json={"files": [{"filename": "bread.html", "content_base64": encoded}]},
        headers=headers,
    )
    assert b64.status_code == 201 and b64.json()["documents"][0]["title"] == "Bread Baking"


@pytest.mark.parametrize(
    "body",
    [
        {"filename": "a.md"},
        {"filename": "a.md", "content": "x", "content_base64": "eA=="},
        {"filename": "a.md", "content_base64": "!!!"},
        {"filename": "a.md", "content": ""},
        {"filename": "tool.exe", "content_base64": base64.b64encode(b"MZ\x00\x01").decode()},
        {},
    ],
)
async def test_bad_uploads_are_400(
    client: httpx.AsyncClient, services: Services, body: dict[str, Any]
) -> None:
    headers = admin_headers(services)
    public_id = await create_course(client, headers)
    path = f"{ADMIN}/institutions/{public_id}/courses/7/documents"
    assert_envelope(await client.post(path, json=body, headers=headers), 400)


async def test_unknown_course_is_404(client: httpx.AsyncClient, services: Services) -> None:
    headers = admin_headers(services)
    public_id = await create_course(client, headers)
    path = f"{ADMIN}/institutions/{public_id}/courses/8/documents"
    assert_envelope(
        await client.post(path, json={"filename": "a.md", "content": "x"}, headers=headers), 404
    )


async def test_scanned_pdf_gets_a_per_document_error(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = admin_headers(services)
    public_id = await create_course(client, headers)
    path = f"{ADMIN}/institutions/{public_id}/courses/7/documents"
    response = await client.post(
        path, files=[("file", ("scan.pdf", scanned_pdf()))], headers=headers
    )
    [document] = response.json()["documents"]
    assert document["status"] == "failed" and document["error_phase"] == "extract"
    assert document["chunk_count"] == 0 and "text" in document["error"].lower()


async def test_delete_document(client: httpx.AsyncClient, services: Services) -> None:
    headers = admin_headers(services)
    public_id = await create_course(client, headers)
    path = f"{ADMIN}/institutions/{public_id}/courses/7/documents"
    created = await client.post(
        path, json={"filename": "a.md", "content": "# A\n\nAlpha."}, headers=headers
    )
    document_id = created.json()["documents"][0]["id"]
    deleted = await client.delete(f"{path}/{document_id}", headers=headers)
    assert deleted.json() == {"success": True, "deleted": document_id}
    assert_envelope(await client.delete(f"{path}/{document_id}", headers=headers), 404)
    assert (await client.get(path, headers=headers)).json()["documents"] == []


async def test_large_upload_runs_as_a_job(make_settings: Any) -> None:
    from promptsmith.app import create_app

    settings = make_settings(ingest_inline_max_bytes=0)
    services = Services.build(settings)
    app = create_app(settings, services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = admin_headers(services)
            public_id = await create_course(client, headers)
            path = f"{ADMIN}/institutions/{public_id}/courses/7/documents"
            files = [
                ("files", (n, d)) for n, d in {**cooking_files(), "scan.pdf": scanned_pdf()}.items()
            ]
            response = await client.post(path, files=files, headers=headers)
            assert response.status_code == 202, response.text
            job_id = response.json()["job_id"]
            await services.jobs.wait()
            job = (await client.get(f"{ADMIN}/jobs/{job_id}", headers=headers)).json()["job"]
            assert job["status"] == "failed" and job["total"] == 3
            assert job["progress"]["ready"] == 2 and job["progress"]["failed"] == 1
            assert {d["filename"]: d["status"] for d in job["documents"]} == {
                "bread.html": "ready",
                "pasta.md": "ready",
                "scan.pdf": "failed",
            }
            other = admin_headers(services, "org-2")
            assert_envelope(await client.get(f"{ADMIN}/jobs/{job_id}", headers=other), 404)
            assert_envelope(await client.get(f"{ADMIN}/jobs/nope", headers=headers), 404)


async def test_uploads_may_exceed_the_general_body_limit(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = admin_headers(services)
    public_id = await create_course(client, headers)
    path = f"{ADMIN}/institutions/{public_id}/courses/7/documents"
    paragraph = "Orbital mechanics describes how planets and moons move under gravity. " * 12
    big = ("# Orbits\n\n" + "\n\n".join([paragraph] * 1500)).encode()
    assert len(big) > services.settings.max_body_bytes
    response = await client.post(path, files=[("file", ("orbits.md", big))], headers=headers)
    assert response.status_code == 202, response.text
    await services.jobs.wait()
    job = await client.get(f"{ADMIN}/jobs/{response.json()['job_id']}", headers=headers)
    assert job.json()["job"]["status"] == "succeeded"
    # Other endpoints keep the general limit.
    too_big = await client.post(
        f"{ADMIN}/institutions", content=b"{" + b" " * len(big) + b"}", headers=headers
    )
    assert_envelope(too_big, 413)


async def test_upload_over_the_upload_limit_is_413(make_settings: Any) -> None:
    from promptsmith.app import create_app

    settings = make_settings(max_upload_bytes=4096, max_body_bytes=2048)
    services = Services.build(settings)
    app = create_app(settings, services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = admin_headers(services)
            public_id = await create_course(client, headers)
            path = f"{ADMIN}/institutions/{public_id}/courses/7/documents"
            ok = await client.post(
                path, files=[("f", ("a.md", b"# A\n\n" + b"x " * 1200))], headers=headers
            )
            assert ok.status_code == 201, ok.text
            response = await client.post(
                path, files=[("f", ("a.md", b"y" * 5000))], headers=headers
            )
            assert_envelope(response, 413)
