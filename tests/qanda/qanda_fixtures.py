"""Q&A test data: generated course documents (PDF, DOCX, HTML, Markdown) and catalogue setup.

A module of its own (not conftest) so test modules can import it by a unique name."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from promptsmith.qanda.ingest import Target
from promptsmith.services import Services
from promptsmith.storage import assistants, courses, institutions

sys.path.insert(0, str(Path(__file__).parent.parent / "retrieval"))

from docbuilders import make_docx, make_pdf

ASTRONOMY_PDF_PAGES = [
    [
        "Planets of the Solar System",
        "Jupiter is the largest planet in the solar system. Its Great Red Spot is a storm",
        "larger than Earth that has raged for centuries. Jupiter has at least 95 moons.",
        "Saturn is famous for its bright rings made of ice and rock particles.",
    ],
    [
        "The Inner Planets",
        "Mercury is the closest planet to the Sun and has almost no atmosphere.",
        "Venus has a thick carbon dioxide atmosphere and is the hottest planet.",
        "Mars is called the red planet because of iron oxide dust on its surface.",
    ],
]

STARS_DOCX = [
    ("title", "Stellar Evolution"),
    ("h1", "Main sequence"),
    (
        "p",
        "Stars spend most of their lives on the main sequence, fusing hydrogen into helium "
        "in their cores. The Sun is a main sequence star about 4.6 billion years old.",
    ),
    ("h1", "Death of stars"),
    (
        "p",
        "Massive stars end their lives in supernova explosions and can leave behind neutron "
        "stars or black holes. Smaller stars like the Sun become white dwarfs.",
    ),
]

BREAD_HTML = b"""<!doctype html><html><head><title>Bread Baking</title></head><body>
<h1>Sourdough bread</h1>
<p>Sourdough bread is leavened with a starter of wild yeast and lactobacilli. Feed the
starter with flour and water every day and keep it at room temperature.</p>
<h2>Proofing</h2>
<p>Let the dough proof for twelve hours in the refrigerator to develop a tangy flavour.
Bake at 250 degrees Celsius in a covered Dutch oven for a crisp crust.</p>
</body></html>"""

PASTA_MD = b"""# Fresh pasta

Fresh egg pasta uses one egg per hundred grams of semolina flour. Knead the dough for ten
minutes until it is smooth and elastic, then rest it for thirty minutes.

## Cooking pasta

Boil fresh pasta in well salted water for two to three minutes. Save a cup of the starchy
pasta water to loosen the sauce.
"""


def astronomy_files() -> dict[str, bytes]:
    return {
        "planets.pdf": make_pdf(ASTRONOMY_PDF_PAGES),
        "stars.docx": make_docx(STARS_DOCX),
    }


def cooking_files() -> dict[str, bytes]:
    return {"bread.html": BREAD_HTML, "pasta.md": PASTA_MD}


def scanned_pdf() -> bytes:
    return make_pdf([[], []], image_pages={0, 1})


async def make_target(
    services: Services, *, org: str = "org-1", public_id: str | None = None, course_id: int = 101
) -> Target:
    institution = await institutions.get(services.db, public_id) if public_id else None
    if institution is None:
        institution = await institutions.create(
            services.db, public_id=public_id or str(uuid.uuid4()), name="Uni", org_id=org
        )
    course = await courses.create(
        services.db, institution, course_id=course_id, course_name=f"Course {course_id}"
    )
    return Target(institution, course)


async def add_assistant(services: Services, target: Target, assistant_id: str = "tutor") -> None:
    await assistants.create(
        services.db,
        target.institution,
        assistant_id=assistant_id,
        name="Tutor",
        instructions="<role>You are a patient tutor.</role>",
    )
