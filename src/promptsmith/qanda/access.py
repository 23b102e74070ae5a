"""Who may ask what: resolve a qanda-stream request to its institution, assistant and course.

Checked before the stream starts, so failures are plain HTTP errors in the envelope:
403 when the token's institution is not `requestArgs.institutionPublicId`; 404 when the
institution, the assistant or the course is unknown (or belongs to another institution);
400 for an unknown `userTimezone`.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..api.schemas import QandaRequestArgs, QandaStreamRequest
from ..auth import Principal
from ..exceptions import BadRequest, Forbidden, NotFound
from ..providers.router import ModelChoice
from ..retrieval.store import Partition
from ..services import Services
from ..storage import assistants, courses, institutions
from ..storage.qanda_models import Assistant, Course, Institution
from .wiring import partition_for

SHORT_FOLLOW_UP = 6  # words


@dataclass(frozen=True)
class QandaContext:
    principal: Principal
    institution: Institution | None
    assistant: Assistant | None
    course: Course | None
    rag_only: bool
    timezone: ZoneInfo
    timezone_name: str
    inputs: list[str]

    @property
    def question(self) -> str:
        return self.inputs[-1].strip()

    @property
    def search_query(self) -> str:
        """What to search for: the question, plus the previous message for a short follow-up
        ("and its moons?") that means little on its own."""
        if len(self.inputs) > 1 and len(self.question.split()) < SHORT_FOLLOW_UP:
            return f"{self.inputs[-2].strip()} {self.question}"
        return self.question

    @property
    def partition(self) -> Partition | None:
        if self.institution is None or self.course is None:
            return None
        return partition_for(self.institution, self.course)

    @property
    def org(self) -> str | None:
        return self.institution.org_id if self.institution is not None else None

    @property
    def assigned_model(self) -> ModelChoice | None:
        assistant = self.assistant
        if assistant is None or not assistant.provider or not assistant.model:
            return None
        return ModelChoice(assistant.provider, assistant.model)


def parse_timezone(name: str | None) -> tuple[ZoneInfo, str]:
    if name is None or not name.strip():
        return ZoneInfo("UTC"), "UTC"
    name = name.strip()
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise BadRequest(
            "Invalid userTimezone",
            f"{name!r} is not an IANA time zone (for example America/New_York or UTC).",
        ) from exc


async def resolve(
    services: Services, principal: Principal, body: QandaStreamRequest
) -> QandaContext:
    args = body.requestArgs or QandaRequestArgs()
    timezone, timezone_name = parse_timezone(args.userTimezone)
    own = institutions.normalize_public_id(principal.institution or "")
    asked = (args.institutionPublicId or "").strip()
    public_id = institutions.normalize_public_id(asked) if asked else own
    if public_id != own:
        raise Forbidden(message="This token is not for that institution")
    institution = await institutions.get(services.db, public_id)
    wants_catalogue = bool(args.assistantId) or args.selectedCourse is not None
    if institution is None and wants_catalogue:
        raise NotFound(message=f"No institution {public_id}")
    assistant = await _assistant(services, institution, args.assistantId)
    course = await _course(services, institution, args)
    return QandaContext(
        principal=principal,
        institution=institution,
        assistant=assistant,
        course=course,
        rag_only=bool(args.ragOnly),
        timezone=timezone,
        timezone_name=timezone_name,
        inputs=[text for text in body.inputs if text.strip()],
    )


async def _assistant(
    services: Services, institution: Institution | None, assistant_id: str | None
) -> Assistant | None:
    if not assistant_id or institution is None:
        return None
    assistant = await assistants.get(services.db, institution, assistant_id)
    if assistant is None:
        raise NotFound(message=f"No assistant {assistant_id!r} in this institution")
    return assistant


async def _course(
    services: Services, institution: Institution | None, args: QandaRequestArgs
) -> Course | None:
    if args.selectedCourse is None or institution is None:
        return None
    course = await courses.get(services.db, institution, args.selectedCourse.course_id)
    if course is None:
        raise NotFound(message=f"No course {args.selectedCourse.course_id} in this institution")
    return course
