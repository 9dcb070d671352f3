"""Test support: fixtures shared by the test modules, registered as pytest plugins in tests/conftest.py."""
