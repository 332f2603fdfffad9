#!/usr/bin/env bash
# Make sure the command-line tools the workflow runs (and, with `test`, the ones the test
# suite needs) are on this machine. As root on Debian/Ubuntu, missing ones are installed with
# apt-get; otherwise we stop, name the packages and explain the conda route (environment.yml),
# since we cannot install system packages.
#   scripts/ensure-tools.sh         what `make run` needs
#   scripts/ensure-tools.sh test    also what `make test` needs (SLURM, browser, sandbox tools)
#   scripts/ensure-tools.sh image   only what `make image` needs (mmdebstrap, umoci, skopeo)
set -euo pipefail

mode="${1:-run}"
case "$mode" in run|test|image) ;; *) echo "usage: $0 [run|test|image]" >&2; exit 2 ;; esac

# tool -> Debian package; the order is the order they are reported in.
tools=(samtools freebayes bcftools tabix bgzip)
declare -A PACKAGE_OF=([samtools]=samtools [freebayes]=freebayes [bcftools]=bcftools
                       [tabix]=tabix [bgzip]=tabix)
# The job image (container/build.sh): the Debian root fs, the OCI layout, the OCI archive.
image_tools=(mmdebstrap umoci skopeo)
PACKAGE_OF+=([mmdebstrap]=mmdebstrap [umoci]=umoci [skopeo]=skopeo)
if [ "$mode" = image ]; then
    tools=("${image_tools[@]}")
fi
if [ "$mode" = test ]; then
    # tests/slurm: a one-node SLURM cluster on loopback (slurmctld, slurmd, munged);
    # tests/support/cluster: private mount namespaces and uid switches (unshare, setpriv, mount) and a
    # TLS certificate (openssl); the report's browser test: chromium, headless.
    # tests/executor: the pods run in the job image, built once per change by container/build.sh;
    # tests/container: container/Dockerfile built by buildah.
    tools+=(slurmctld slurmd munged openssl unshare setpriv chromium "${image_tools[@]}" buildah)
    PACKAGE_OF+=([buildah]=buildah [slurmctld]=slurm-wlm [slurmd]=slurm-wlm [munged]=munge
                 [openssl]=openssl [unshare]=util-linux [setpriv]=util-linux
                 [chromium]=chromium)
fi
missing_packages=()
missing_tools=()
for tool in "${tools[@]}"; do
    if ! command -v "$tool" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$tool" ]; then
        missing_tools+=("$tool")
        missing_packages+=("${PACKAGE_OF[$tool]}")
    fi
done
# python3 -m venv needs ensurepip, which Debian ships separately (python3-venv).
if [ "$mode" != image ] && ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    missing_tools+=("python3-venv")
    missing_packages+=("python3-venv")
fi

# Optional: tcmalloc makes freebayes ~7% faster (config calling.allocator). Installed along
# with missing tools or on its own as root; without it the system allocator is used.
optional_packages=()
# grep reads the whole listing (no -q): a grep that exits at its first match can leave
# ldconfig to die of SIGPIPE, which pipefail would read as "not installed".
if [ "$mode" != image ] && ! ldconfig -p 2>/dev/null | grep 'libtcmalloc_minimal\.so\.4' >/dev/null; then
    optional_packages+=("libtcmalloc-minimal4")
fi

if [ ${#missing_tools[@]} -eq 0 ]; then
    if [ ${#optional_packages[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ] \
            && command -v apt-get >/dev/null 2>&1; then
        echo "Installing with apt-get: ${optional_packages[*]} (optional, faster freebayes)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq --no-install-recommends \
            "${optional_packages[@]}" >/dev/null \
            || echo "warning: not installed; using the system allocator"
    fi
    exit 0
fi

mapfile -t unique_packages < <(printf '%s\n' "${missing_packages[@]}" | sort -u)
packages="${unique_packages[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing with apt-get: ${packages} ${optional_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        "${unique_packages[@]}" "${optional_packages[@]}" >/dev/null
    exit 0
fi

if [ "$mode" != run ]; then
    needs="The test suite needs"
    [ "$mode" = image ] && needs="make image needs"
    cat >&2 <<MSG
error: missing tools: ${missing_tools[*]}
${needs} these Debian packages: ${packages}
They are installed automatically only as root on Debian/Ubuntu (apt-get); ask an administrator:
    sudo apt-get install ${packages}
MSG
    exit 1
fi
cat >&2 <<MSG
error: missing tools: ${missing_tools[*]}
They are installed automatically only as root on Debian/Ubuntu (apt-get). Instead, use conda:
    conda env create -f environment.yml
    conda activate kubecall
    snakemake --profile profiles/local
(environment.yml pins samtools, freebayes, bcftools, htslib, snakemake and this package.)
MSG
exit 1
