"""`promptsmith llm-emulator`: serve the emulator.

The lead registers it on the main CLI with
`app.command("llm-emulator")(llm_emulator)`; `python -m promptsmith.emulator`
runs the same function.
"""

from __future__ import annotations

import typer
import uvicorn

from .server import create_app
from .state import EmulatorState


def llm_emulator(
    port: int = typer.Option(8100, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    max_records: int = typer.Option(
        10_000, help="Requests and connections kept for the control API."
    ),
    record: bool = typer.Option(True, help="Record request bodies (turn off for long benchmarks)."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Serve the wire-level LLM provider emulator (Anthropic, OpenAI, Gemini)."""
    app = create_app(EmulatorState(max_records=max_records, record=record))
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        backlog=4096,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,
    )


def main() -> None:
    typer.run(llm_emulator)
