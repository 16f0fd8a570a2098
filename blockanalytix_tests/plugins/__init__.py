"""Pytest plugins shared by the whole suite (register with `pytest_plugins` in the root conftest.py)."""
