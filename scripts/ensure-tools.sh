#!/usr/bin/env bash
# Make sure the command-line tools the workflow runs are on PATH.
# As root on Debian/Ubuntu, missing ones are installed with apt-get; otherwise we stop and
# explain the conda route (environment.yml), since we cannot install system packages.
set -euo pipefail

declare -A PACKAGE_OF=([samtools]=samtools [freebayes]=freebayes [bcftools]=bcftools
                       [tabix]=tabix [bgzip]=tabix)
missing_packages=()
missing_tools=()
for tool in samtools freebayes bcftools tabix bgzip; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        missing_tools+=("$tool")
        missing_packages+=("${PACKAGE_OF[$tool]}")
    fi
done
# python3 -m venv needs ensurepip, which Debian ships separately (python3-venv).
if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    missing_tools+=("python3-venv")
    missing_packages+=("python3-venv")
fi

# Optional: tcmalloc makes freebayes ~7% faster (config calling.allocator). Installed along
# with missing tools or on its own as root; without it the system allocator is used.
optional_packages=()
if ! ldconfig -p 2>/dev/null | grep -q 'libtcmalloc_minimal\.so\.4'; then
    optional_packages+=("libtcmalloc-minimal4")
fi

if [ ${#missing_tools[@]} -eq 0 ]; then
    if [ ${#optional_packages[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ] \
            && command -v apt-get >/dev/null 2>&1; then
        echo "Installing with apt-get: ${optional_packages[*]} (optional, faster freebayes)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq --no-install-recommends \
            "${optional_packages[@]}" || echo "warning: not installed; using the system allocator"
    fi
    exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing with apt-get: ${missing_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2046
    apt-get install -y -qq --no-install-recommends \
        $(printf '%s\n' "${missing_packages[@]}" "${optional_packages[@]}" | sort -u)
    exit 0
fi

cat >&2 <<MSG
error: missing tools: ${missing_tools[*]}
They are installed automatically only as root on Debian/Ubuntu (apt-get). Instead, use conda:
    conda env create -f environment.yml
    conda activate kubecall
    snakemake --profile profiles/default
(environment.yml pins samtools, freebayes, bcftools, htslib, snakemake and this package.)
MSG
exit 1
