"""The model's prompt for a course question: stable instructions, then today's context.

The first system block (rules + the assistant's instructions) is the same for every
question to that assistant, so it is marked for provider prompt caching (Anthropic
`cache_control`). The second block changes per question: the learner's local date and
time, the course, and the numbered course materials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..providers.base import ChatMessage, SystemBlock
from ..retrieval.store import SearchHit

REFUSAL = (
    "I couldn't find this in the course materials. Try rephrasing your question, or ask "
    "your instructor."
)

RAG_ONLY_RULES = """You are a course assistant. Answer the learner's question using ONLY the \
numbered course materials you are given. Cite every statement you take from them with its \
number in square brackets, like [1] or [2, 3], right after the statement. If the materials \
do not contain the answer, say that you couldn't find it in the course materials; never \
answer from general knowledge, and never cite a number that is not in the materials."""

OPEN_RULES = """You are a course assistant. When the numbered course materials you are given \
are relevant, base your answer on them and cite them with their number in square brackets, \
like [1] or [2, 3], right after the statement. You may also use your general knowledge; \
make clear which parts do not come from the course materials. Never cite a number that is \
not in the materials."""


@dataclass(frozen=True)
class Source:
    """A retrieved chunk as the model and the learner see it."""

    n: int
    hit: SearchHit

    @property
    def document(self) -> str:
        return str(self.hit.metadata.get("filename") or self.hit.document_id)

    @property
    def title(self) -> str:
        path = self.hit.metadata.get("heading_path") or []
        if path:
            return " > ".join(str(p) for p in path)
        return str(self.hit.metadata.get("title") or self.document)

    @property
    def page(self) -> int | None:
        page = self.hit.metadata.get("page")
        return int(page) if page is not None else None

    def snippet(self, length: int = 240) -> str:
        text = " ".join(self.hit.text.split())
        return text if len(text) <= length else text[: length - 1].rstrip() + "…"

    def result(self) -> dict[str, object]:
        return {
            "n": self.n,
            "document": self.document,
            "title": self.title,
            "page": self.page,
            "snippet": self.snippet(),
            "score": round(self.hit.score, 6),
        }


def sources_of(hits: Sequence[SearchHit]) -> list[Source]:
    return [Source(n, hit) for n, hit in enumerate(hits, start=1)]


def local_time(zone: ZoneInfo, zone_name: str, now: datetime | None = None) -> str:
    moment = (now or datetime.now(zone)).astimezone(zone)
    offset = moment.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return f"{moment.strftime('%A, %d %B %Y, %H:%M')} ({zone_name}, {offset})"


def system_blocks(
    *,
    rag_only: bool,
    instructions: str,
    local_now: str,
    course_name: str | None,
    sources: Sequence[Source],
) -> list[SystemBlock]:
    stable = RAG_ONLY_RULES if rag_only else OPEN_RULES
    if instructions.strip():
        stable += f"\n\nThe institution's instructions for you:\n{instructions.strip()}"
    context = [f"The learner's current local date and time: {local_now}."]
    if course_name:
        context.append(f"The learner is asking about the course: {course_name}.")
    context.append(_materials(sources))
    return [SystemBlock(stable, cache=True), SystemBlock("\n\n".join(context))]


def _materials(sources: Sequence[Source]) -> str:
    if not sources:
        return "<course_materials>\n(no relevant course materials were found)\n</course_materials>"
    parts = ["<course_materials>"]
    for source in sources:
        page = f' page="{source.page}"' if source.page is not None else ""
        parts.append(
            f'<source n="{source.n}" document="{_attr(source.document)}" '
            f'section="{_attr(source.title)}"{page}>\n{source.hit.text}\n</source>'
        )
    parts.append("</course_materials>")
    return "\n".join(parts)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def messages(inputs: Sequence[str]) -> list[ChatMessage]:
    """The learner's messages, oldest first; the last one is the question."""
    question = inputs[-1].strip()
    if len(inputs) == 1:
        return [ChatMessage("user", question)]
    earlier = "\n".join(f"- {text.strip()}" for text in inputs[:-1])
    return [
        ChatMessage(
            "user",
            f"My earlier messages, oldest first:\n{earlier}\n\nMy question now:\n{question}",
        )
    ]
