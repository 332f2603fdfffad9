#!/usr/bin/env bash
# Post-deploy script of every conda env whose rules run kubecall's scripts (snakemake runs
# <env>.post-deploy.sh inside the new env; each of those links here). It installs this
# checkout's kubecall into the env without touching its dependencies, which the env's YAML
# pins. workflow/rules/common.smk exports the checkout's path as KUBECALL_SOURCE.
set -euo pipefail
python -m pip install --no-deps --no-build-isolation --no-index --quiet \
    --editable "${KUBECALL_SOURCE:?set by workflow/rules/common.smk}"
