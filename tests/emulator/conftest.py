"""The emulator's own tests use the same fixtures other test modules do."""

from promptsmith.emulator.testing import emulator, emulator_server

__all__ = ["emulator", "emulator_server"]
