"""The emulator's own tests use the suite-wide `emulator` fixture (tests/conftest.py)."""
