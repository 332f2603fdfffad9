# Two commands on a fresh machine: `make run` (demo cohort end to end) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
# The venv lives in the checkout, except where the checkout's path has a space: make cannot
# name such paths, so the venv then goes to a space-free path.
ifeq ($(words $(CURDIR)),1)
VENV ?= .venv
else
VENV ?= $(HOME)/.cache/kubecall/venv-$(shell printf %s "$(CURDIR)" | sha256sum | cut -c1-12)
endif
SNAKEMAKE := $(VENV)/bin/snakemake
RUN_STAMP := $(VENV)/.run-deps
TEST_STAMP := $(VENV)/.test-deps

.PHONY: help run report test tools test-tools test-image image lint dry-run clean

help:
	@echo "make run      install what is missing, then call variants on the demo cohort"
	@echo "make report   make run, then snakemake --report (results/snakemake-report.html)"
	@echo "make test     install test dependencies and run the test suite"
	@echo "make image    build the job image: dist/kubecall-image.tar (OCI archive), print its digest"
	@echo "make lint     ruff and snakemake --lint"
	@echo "make dry-run  show the jobs 'make run' would execute"
	@echo "make clean    remove results/, logs/ and benchmarks/ of the demo run"

run: tools $(RUN_STAMP)
	$(SNAKEMAKE) --profile profiles/local
	@echo
	@echo "Results in $(CURDIR)/results:"
	@echo "  calls: results/calls/cohort.vcf.gz (+ .tbi)"
	@echo "  stats: results/stats/cohort.stats.txt"
	@echo "  report: results/report.html (open it in a browser)"
	@echo "  logs:  logs/, per-job timings: benchmarks/"

# The run's own page (results/report.html) is a deliverable of `make run`; this adds
# Snakemake's report: the DAG, rule runtimes and every output marked with report().
report: run
	$(SNAKEMAKE) --profile profiles/local --report results/snakemake-report.html
	@echo "Reports: results/report.html and results/snakemake-report.html"

# Test processes at once (pytest-xdist), each module's tests in one of them: most of the
# suite waits on clusters, daemons and outages rather than the CPU, so two overlap those
# waits on a 2-core machine; more would only crowd it (every worker runs its own clusters).
TEST_WORKERS ?= 2

test: test-tools $(TEST_STAMP) test-image
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadscope

# The job image, without a container daemon (container/README.md); same inputs, same digest.
image:
	@bash container/build.sh dist/kubecall-image.tar

# The image the Kubernetes tests run their pods in, built once per change of its inputs
# (build/test-image/<key>/, tests/support/image.py), before the suite so it is built once.
test-image: test-tools $(TEST_STAMP)
	$(VENV)/bin/python -m tests.support.image

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check src tests workflow/scripts bench
	$(SNAKEMAKE) --lint --profile profiles/local

dry-run: $(RUN_STAMP)
	$(SNAKEMAKE) --profile profiles/local --dry-run

tools:
	@bash scripts/ensure-tools.sh

# What the suite needs besides the workflow's tools: SLURM, munge, chromium, util-linux.
test-tools:
	@bash scripts/ensure-tools.sh test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@ $(RUN_STAMP)

clean:
	rm -rf results logs benchmarks .snakemake
