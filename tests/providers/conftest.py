"""Provider adapters driven through the real SDKs against the wire-level emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from provider_cases import CASES, Case, Subject

from promptsmith.emulator.testing import Emulator


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
async def subject(request: pytest.FixtureRequest, emulator: Emulator) -> AsyncIterator[Subject]:
    case: Case = request.param
    provider = case.build(emulator)
    yield Subject(case, provider, emulator)
    await provider.aclose()  # type: ignore[attr-defined]
