"""Q&A repositories on both backends: tenancy, uniqueness, cascades, chunk embeddings."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from promptsmith.exceptions import Conflict
from promptsmith.storage import assistants, chunks, courses, documents, institutions, jobs
from promptsmith.storage.db import Database


def new_id() -> str:
    return str(uuid.uuid4())


async def test_institution_belongs_to_its_org(database: Database) -> None:
    public_id = new_id()
    await institutions.create(database, public_id=public_id, name="Uni", org_id="org-a")
    assert await institutions.get_for_org(database, public_id, "org-a") is not None
    assert await institutions.get_for_org(database, public_id, "org-b") is None
    assert [i.public_id for i in await institutions.list_for_org(database, "org-a")] == [public_id]
    assert await institutions.list_for_org(database, "org-b") == []
    with pytest.raises(Conflict):
        await institutions.create(database, public_id=public_id, name="Again", org_id="org-b")


async def test_assistants_and_courses_are_per_institution(database: Database) -> None:
    one = await institutions.create(database, public_id=new_id(), name="One", org_id="o")
    two = await institutions.create(database, public_id=new_id(), name="Two", org_id="o")
    await assistants.create(database, one, assistant_id="a1", name="Tutor", instructions="<p/>")
    await assistants.create(database, two, assistant_id="a1", name="Other tutor")
    with pytest.raises(Conflict):
        await assistants.create(database, one, assistant_id="a1", name="Dup")
    found = await assistants.get(database, one, "a1")
    assert found is not None and found.name == "Tutor" and found.instructions == "<p/>"
    big = 1750532703472  # course ids from the spec do not fit in 32 bits
    await courses.create(database, one, course_id=big, course_name="AI")
    with pytest.raises(Conflict):
        await courses.create(database, one, course_id=big, course_name="AI again")
    await courses.create(database, two, course_id=big, course_name="AI at two")
    course = await courses.get(database, one, big)
    assert course is not None and course.course_name == "AI"
    assert await courses.get(database, one, 7) is None


async def test_documents_dedupe_by_hash_and_cascade_to_chunks(database: Database) -> None:
    inst = await institutions.create(database, public_id=new_id(), name="U", org_id="o")
    course = await courses.create(database, inst, course_id=1, course_name="C")
    doc, created = await documents.create_or_get(database, course.id, filename="a.txt", data=b"x")
    again, created_again = await documents.create_or_get(
        database, course.id, filename="renamed.txt", data=b"x"
    )
    assert created and not created_again and again.id == doc.id
    assert await documents.read_content(database, doc.id) == b"x"
    new = [
        chunks.NewChunk(i, f"text {i}", f"H\ntext {i}", ("H",), 1, 1, i * 10, i * 10 + 6)
        for i in range(3)
    ]
    await chunks.replace_for_document(database, doc.id, course.id, new)
    assert await chunks.for_course(database, course.id) == []  # not embedded yet
    vectors = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    await chunks.set_embeddings(database, doc.id, vectors)
    rows = await chunks.for_course(database, course.id)
    assert [r.ordinal for r in rows] == [0, 1, 2]
    assert np.array_equal(chunks.embedding_of(rows[2]), vectors[2])
    assert chunks.heading_path_of(rows[0]) == ["H"]
    assert await documents.delete(database, doc.id)
    assert await chunks.count_for_document(database, doc.id) == 0
    assert await documents.get(database, course.id, doc.id) is None


async def test_jobs_track_their_documents(database: Database) -> None:
    inst = await institutions.create(database, public_id=new_id(), name="U", org_id="o")
    course = await courses.create(database, inst, course_id=1, course_name="C")
    job = await jobs.create(database, course.id, total=1)
    doc, _ = await documents.create_or_get(
        database, course.id, filename="a.md", data=b"# A", job_id=job.id
    )
    await jobs.set_status(database, job.id, "running")
    stored = await jobs.get(database, job.id)
    assert stored is not None and stored.status == "running"
    assert [d.id for d in await jobs.documents(database, job.id)] == [doc.id]
