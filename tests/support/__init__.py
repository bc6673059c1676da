"""Helpers shared by the test packages (imported by name; fixtures live in conftest.py files)."""
