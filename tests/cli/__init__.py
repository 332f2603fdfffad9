"""The cluster commands (bootstrap, stage, launch, status, logs, teardown) against the
test cluster."""
