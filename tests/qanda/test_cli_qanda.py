"""`promptsmith institution|assistant|course create` and `promptsmith ingest`."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from qanda_fixtures import astronomy_files, cooking_files, scanned_pdf
from typer.testing import CliRunner

from promptsmith.cli import app as cli
from promptsmith.services import Services
from promptsmith.settings import Settings
from promptsmith.storage import assistants, courses, documents, institutions


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMPTSMITH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PROMPTSMITH_EMBEDDER", "hashing")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def read_state(public_id: str) -> tuple[list[str], list[str], dict[str, str]]:
    async def read() -> tuple[list[str], list[str], dict[str, str]]:
        services = Services.build(Settings(_env_file=None))
        try:
            institution = await institutions.get(services.db, public_id)
            assert institution is not None and institution.org_id == "acme"
            course_rows = await courses.list_for(services.db, institution)
            docs = await documents.list_for(services.db, course_rows[0].id)
            helpers = await assistants.list_for(services.db, institution)
            return (
                [a.instructions for a in helpers],
                [c.course_name for c in course_rows],
                {d.filename: d.status for d in docs},
            )
        finally:
            await services.db.dispose()

    return asyncio.run(read())


def test_create_and_ingest(env: Path) -> None:
    public_id = str(uuid.uuid4())
    code, out = run(
        "institution", "create", "--public-id", public_id, "--name", "Uni", "--org", "acme"
    )
    assert code == 0, out
    code, out = run("institution", "create", "--public-id", public_id, "--name", "Uni")
    assert code == 1 and "Conflict" in out
    prompt = env / "tutor.xml"
    prompt.write_text("<role>Tutor</role>")
    code, out = run(
        "assistant", "create", "--institution", public_id, "--id", "tutor", "--name", "Tutor",
        "--instructions-file", str(prompt), "--provider", "anthropic", "--model", "claude-x",
    )  # fmt: skip
    assert code == 0, out
    code, out = run(
        "course", "create", "--institution", public_id, "--course-id", "3", "--name", "Mixed"
    )
    assert code == 0, out
    folder = env / "docs"
    (folder / "nested").mkdir(parents=True)
    for name, data in {**astronomy_files(), **cooking_files()}.items():
        (folder / "nested" / name).write_bytes(data)
    (folder / "ignored.bin").write_bytes(b"\x00\x01")
    scan = env / "scan.pdf"
    scan.write_bytes(scanned_pdf())
    code, out = run(
        "ingest", "--institution", public_id, "--course-id", "3", str(folder), str(scan)
    )
    assert code == 1, out  # the scanned PDF failed
    assert "4 of 5 documents ready" in out and "scan.pdf" in out
    code, out = run("ingest", "--institution", public_id, "--course-id", "3", str(folder))
    assert code == 0 and out.count("unchanged") == 4, out
    instructions, course_names, statuses = read_state(public_id)
    assert instructions == ["<role>Tutor</role>"] and course_names == ["Mixed"]
    assert statuses == {
        "planets.pdf": "ready",
        "stars.docx": "ready",
        "bread.html": "ready",
        "pasta.md": "ready",
        "scan.pdf": "failed",
    }


def test_bad_arguments(env: Path) -> None:
    assert run("institution", "create", "--public-id", "nope", "--name", "x")[0] == 2
    missing = str(uuid.uuid4())
    code, out = run("course", "create", "--institution", missing, "--course-id", "1", "--name", "x")
    assert code == 1 and "no institution" in out
    code, _ = run(
        "assistant", "create", "--institution", missing, "--id", "a", "--name", "A",
        "--provider", "openai",
    )  # fmt: skip
    assert code == 2
