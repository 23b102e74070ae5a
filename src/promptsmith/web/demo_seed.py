"""Seed the `make demo` server through its own HTTP API: a demo institution, assistant,
course and two documents, owned by the dev sign-in's organisation.

    python -m promptsmith.web.demo_seed --url http://127.0.0.1:8000

It signs in with `POST /api/dev/token` (a loopback server with the generated dev
secret), then creates what is missing; anything that already exists (409) is left
alone, so running it twice is harmless. A server without the Q&A admin API is
reported and skipped: the studio works without it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from importlib import resources

import httpx

from ..api.dev import DEMO_INSTITUTION

ASSISTANT_ID = "astro-helper"
COURSE_ID = 101
COURSE_NAME = "Introduction to Astronomy"
DOCUMENTS = ("syllabus.md", "lecture-3-moon.md")


def _demo_file(name: str) -> str:
    return resources.files("promptsmith.web.demo").joinpath(name).read_text()


def wait_until_up(client: httpx.Client, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the server at {client.base_url} did not come up")
        time.sleep(0.25)


_OUTCOMES = {201: "created", 200: "up to date", 202: "queued for ingestion"}


def _create(client: httpx.Client, path: str, body: Mapping[str, object], what: str) -> bool:
    """POST one resource; True when it now exists. A 404 means no admin API for it."""
    response = client.post(path, json=body)
    if response.status_code in (200, 201, 202):
        print(f"  {what}: {_OUTCOMES[response.status_code]}")
        return True
    if response.status_code == 409:
        print(f"  {what}: already there")
        return True
    if response.status_code in (404, 405):
        return False
    raise SystemExit(f"could not create {what}: {response.status_code} {response.text[:300]}")


def seed(client: httpx.Client) -> bool:
    minted = client.post("/api/dev/token")
    if minted.status_code != 200:
        raise SystemExit("dev sign-in is off (not loopback, or PROMPTSMITH_JWT_SECRET is set)")
    client.headers["Authorization"] = f"Bearer {minted.json()['orgToken']}"
    base = f"/api/admin/institutions/{DEMO_INSTITUTION}"
    institution = {"public_id": DEMO_INSTITUTION, "name": "Demo University"}
    if not _create(client, "/api/admin/institutions", institution, "institution"):
        print("  this server has no Q&A admin API: skipping the course seed")
        return False
    assistant = {"id": ASSISTANT_ID, "name": "Astronomy helper"}
    assistant["instructions"] = _demo_file("assistant.xml")
    _create(client, f"{base}/assistants", assistant, f"assistant {ASSISTANT_ID}")
    course = {"course_id": COURSE_ID, "course_name": COURSE_NAME}
    _create(client, f"{base}/courses", course, f"course {COURSE_ID}")
    for name in DOCUMENTS:
        document = {"filename": name, "content": _demo_file(name)}
        _create(client, f"{base}/courses/{COURSE_ID}/documents", document, f"document {name}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    with httpx.Client(base_url=args.url, timeout=120.0) as client:
        wait_until_up(client)
        print(f"seeding the demo at {args.url}")
        seeded = seed(client)
    where = f"{args.url}/#/qanda" if seeded else f"{args.url}/#/studio"
    print(f"open {where} and press 'Dev sign-in'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
