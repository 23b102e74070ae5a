"""Constants and helpers for the authoring endpoint tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from promptsmith.providers.base import ModelRequest

NL_CREATE = "/api/ai/nl-create"
NL_EDIT = "/api/ai/nl-edit"
ASSISTANT = "/api/ai/prompt-assistant/stream"
LINT = "/api/ai/prompt-lint"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<prompt><role>&lol4;</role></prompt>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE prompt [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<prompt><role>&xxe;</role></prompt>"""

XML_BOMBS = {"billion-laughs": BILLION_LAUGHS, "external-entity": EXTERNAL_ENTITY}

Post = Callable[[str, dict[str, Any]], Awaitable[httpx.Response]]


def user_text(request: ModelRequest) -> str:
    """The last user message the model was sent."""
    return [m.content for m in request.messages if m.role == "user"][-1]


def between(text: str, tag: str) -> str:
    """The content of the first `<tag>` … `</tag>` of a request message."""
    start = text.index(f"<{tag}>") + len(tag) + 2
    return text[start : text.index(f"</{tag}>", start)].strip("\n")
