"""Self-tests of the test support (the test cluster), apart from the tests of kubecall."""
