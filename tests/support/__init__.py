"""Test-only infrastructure shared by the suites (never shipped)."""
