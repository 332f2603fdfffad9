"""Test suites for kubecall."""
