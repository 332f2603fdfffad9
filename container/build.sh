#!/usr/bin/env bash
# Build the job image without a container daemon (container/README.md):
#   Debian packages (mmdebstrap) + a venv of kubecall's pinned Python dependencies + this
#   checkout's kubecall, layered by umoci into an OCI layout, written by skopeo to an OCI archive.
#   container/build.sh [OUTPUT.tar]       default dist/kubecall-image.tar; prints the digest
#   container/build.sh --epoch            prints the SOURCE_DATE_EPOCH a build would use
# Same inputs, same digest: SOURCE_DATE_EPOCH (default: the last commit of this script or
# constraints.txt) fixes every timestamp; layer tars are sorted, mtime-clamped, numeric-owner.
# Downloads (the Debian root filesystem, the wheels) are cached in KUBECALL_IMAGE_CACHE
# (default ~/.cache/kubecall/image), so a second build is fast and needs no network.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
output="$(realpath -m -- "${1:-$repo/dist/kubecall-image.tar}")"
cache="${KUBECALL_IMAGE_CACHE:-${HOME:-/root}/.cache/kubecall/image}"
tag="${KUBECALL_IMAGE_TAG:-0.1.0}"
suite=bookworm
mirrors=("deb http://deb.debian.org/debian $suite main"
         "deb http://deb.debian.org/debian $suite-updates main"
         "deb http://deb.debian.org/debian-security $suite-security main")
# The workflow's tools (the versions CI tests with), tcmalloc for freebayes, Python for the venv.
packages=(samtools freebayes bcftools tabix libtcmalloc-minimal4 python3 python3-venv
          ca-certificates)
venv=/opt/kubecall/venv
uid=10001

die() { echo "error: $*" >&2; exit 1; }

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH="$(git -C "$repo" log -1 --format=%ct -- container/build.sh \
        container/constraints.txt 2>/dev/null || true)"
    SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1735689600}"  # not a git checkout: 2025-01-01
fi
export SOURCE_DATE_EPOCH
if [ "${1:-}" = --epoch ]; then echo "$SOURCE_DATE_EPOCH"; exit 0; fi
created="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"

# Root is needed for chroot and to keep the files' owners; a user with user namespaces
# (unshare --map-auto) gets a private root instead.
if [ "$(id -u)" -ne 0 ]; then
    if [ -z "${KUBECALL_IMAGE_USERNS:-}" ] && \
            unshare --user --map-root-user --map-auto --mount true 2>/dev/null; then
        export KUBECALL_IMAGE_USERNS=1 KUBECALL_IMAGE_CACHE="$cache" HOME="${HOME:-/tmp}"
        exec unshare --user --map-root-user --map-auto --mount -- "$0" "$output"
    fi
    die "make image needs root, or user namespaces with subordinate ids (/etc/subuid) for" \
        "'unshare --map-auto'; neither is available to $(id -un). Run it as root."
fi
bash "$repo/scripts/ensure-tools.sh" image
mode=root
[ -n "${KUBECALL_IMAGE_USERNS:-}" ] && mode=unshare

work="$(dirname "$output")/.work-$(basename "$output" .tar)"
rm -rf "$work"
mkdir -p "$work" "$cache" "$(dirname "$output")"
trap 'rm -rf "$work"' EXIT

layer_tar() {  # layer_tar DIR OUT: a reproducible tar of DIR's contents
    tar --create --file "$2" --directory "$1" --format=gnu --sort=name --numeric-owner \
        --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime --exclude='./dev/?*' \
        --exclude='./proc/?*' --exclude='./sys/?*' .
}
hash_of() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }

# ---- 1. the Debian root filesystem (cached by its inputs) --------------------------------
hooks=$(cat <<'HOOKS'
set -e
root="$1"
# docs, man pages and locales (copyright files stay), apt's and debconf's leftovers
find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
       "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/* \
       "$root"/var/cache/debconf/*-old "$root"/var/cache/ldconfig/aux-cache \
       "$root"/usr/share/python-wheels "$root"/etc/machine-id
: > "$root/etc/machine-id"
# the image's user: uid/gid 10001, the executor's default runAsUser/runAsGroup/fsGroup
echo 'kubecall:x:10001:10001:kubecall:/tmp:/usr/sbin/nologin' >> "$root/etc/passwd"
echo 'kubecall:x:10001:' >> "$root/etc/group"
echo 'kubecall:!:1::::::' >> "$root/etc/shadow"
mkdir -p "$root/scratch" "$root/workspace"
chmod 1777 "$root/scratch"
chown 10001:10001 "$root/workspace"
HOOKS
)
rootfs_key="$(hash_of "$suite" "${mirrors[@]}" "${packages[@]}" "$SOURCE_DATE_EPOCH" "$hooks" "$mode")"
rootfs_tar="$cache/rootfs-$rootfs_key.tar"
if [ ! -f "$rootfs_tar" ]; then
    if ! timeout 20 bash -c 'exec 3<>/dev/tcp/deb.debian.org/80' 2>/dev/null; then
        die "cannot reach the Debian mirror deb.debian.org, and no cached root filesystem" \
            "($rootfs_tar); build once with network access to fill the cache."
    fi
    echo "Debian root filesystem: ${packages[*]} (mmdebstrap --variant=essential)"
    mkdir -p "$cache/debs"
    # The hook runs as an executable file, which mmdebstrap calls with the root as its
    # argument without a shell, and sync-in/out parse their paths shell-like: a checkout or
    # cache path with a space then still works.
    printf '#!/bin/sh\n%s\n' "$hooks" > "$work/hooks.sh"
    chmod +x "$work/hooks.sh"
    mmdebstrap --quiet --mode="$mode" --variant=essential --include="$(IFS=,; echo "${packages[*]}")" \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
        --setup-hook="sync-in $(printf %q "$cache/debs") /var/cache/apt/archives" \
        --customize-hook="sync-out /var/cache/apt/archives $(printf %q "$cache/debs")" \
        --customize-hook="$work/hooks.sh" \
        "$suite" "$work/rootfs.tar" "${mirrors[@]}"
    mv "$work/rootfs.tar" "$rootfs_tar"
    # keep the three newest root filesystems (checkouts at other recipe commits use them)
    ls -t "$cache"/rootfs-*.tar | tail -n +4 | xargs -r rm -f
fi

# ---- 2. wheels of kubecall's dependencies, pinned by container/constraints.txt (cached) ----
# From a clean copy of this checkout's sources: setuptools' build/ in the checkout could hold
# modules deleted since.
mkdir -p "$work/source"
tar -C "$repo" --exclude=__pycache__ --exclude='*.egg-info' -cf - pyproject.toml README.md src \
    | tar -C "$work/source" -xf -
wheels_key="$(hash_of "$(cat "$here/constraints.txt")" \
    "$(sed -n '/^dependencies = \[/,/^\]/p' "$repo/pyproject.toml")")"
wheels="$cache/wheels-$wheels_key"
tools_pins=(pip==23.2.1 setuptools==80.9.0 wheel==0.45.1)
if [ ! -d "$wheels" ]; then
    echo "Wheels: kubecall's dependencies (pip wheel, constraints container/constraints.txt)"
    rm -rf "$wheels.partial"
    mkdir -p "$wheels.partial/deps" "$wheels.partial/tools"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        -d "$wheels.partial/tools" "${tools_pins[@]}" \
        || die "pip could not download ${tools_pins[*]} (is PyPI reachable?)"
    python3 -m pip wheel --quiet -c "$here/constraints.txt" -w "$wheels.partial/deps" \
        "$work/source" \
        || die "pip wheel of kubecall's dependencies failed (is PyPI reachable?)"
    rm -f "$wheels.partial"/deps/kubecall-*.whl
    mv "$wheels.partial" "$wheels"
fi
# kubecall itself (offline: the build backend comes from the cache)
python3 -m pip wheel --quiet --no-deps --no-index --find-links "$wheels/tools" \
    -w "$work/kubecall" "$work/source"

# ---- 3. the venv (dependencies) and kubecall, installed offline inside the root fs -------
rootfs="$work/rootfs"
mkdir -p "$rootfs"
tar --extract --file "$rootfs_tar" --directory "$rootfs" --numeric-owner --same-permissions
mkdir -p "$rootfs/tmp/wheels"
cp -r "$wheels/deps" "$wheels/tools" "$work/kubecall" "$rootfs/tmp/wheels/"
inside() {  # run a command chrooted in the root fs, in a private mount namespace
    unshare --mount --fork -- sh -c 'mount --rbind /dev "$0/dev" && exec chroot "$0" "$@"' \
        "$rootfs" /usr/bin/env -i PATH=/usr/bin:/bin PYTHONDONTWRITEBYTECODE=1 HOME=/tmp "$@"
}
pip_cmd=("$venv/bin/python" "$(cd "$rootfs" && ls tmp/wheels/tools/pip-*.whl | sed 's|^|/|')/pip"
         install --quiet --no-index --no-deps --no-cache-dir --no-compile
         --disable-pip-version-check --no-warn-script-location)
inside /usr/bin/python3 -m venv --without-pip "$venv"
mapfile -t deps < <(cd "$rootfs" && ls tmp/wheels/deps/*.whl | sed 's|^|/|')
inside "${pip_cmd[@]}" "${deps[@]}"
inside "$venv/bin/python" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$venv/lib"
mkdir -p "$rootfs/tmp/stage"
inside "${pip_cmd[@]}" --root /tmp/stage "/tmp/wheels/kubecall/$(cd "$work/kubecall" && ls kubecall-*.whl)"
inside "$venv/bin/python" -m compileall -q --invalidation-mode unchecked-hash \
    -s /tmp/stage -p / "/tmp/stage$venv/lib"
inside "$venv/bin/python" -c 'import kubecall, snakemake_executor_plugin_kubecall' \
    2>/dev/null && die "kubecall was installed outside its layer"

# ---- 4. layers: Debian, the venv, kubecall -----------------------------------------------
mv "$rootfs/tmp/stage" "$work/stage"
rm -rf "$rootfs/tmp/wheels"
mkdir -p "$work/venv/opt/kubecall"
mv "$rootfs/opt/kubecall/venv" "$work/venv/opt/kubecall/"
rmdir "$rootfs/opt/kubecall"
layer_tar "$rootfs" "$work/layer-debian.tar"
layer_tar "$work/venv" "$work/layer-venv.tar"
layer_tar "$work/stage" "$work/layer-kubecall.tar"

# ---- 5. the OCI image --------------------------------------------------------------------
layout="$work/oci"
image="$layout:kubecall"
umoci init --layout "$layout"
umoci new --image "$image"
for layer in debian venv kubecall; do
    umoci raw add-layer --image "$image" --history.created "$created" \
        --history.created_by "container/build.sh: $layer" "$work/layer-$layer.tar"
done
umoci config --image "$image" --no-history --created "$created" --author kubecall \
    --os linux --architecture amd64 --config.user "$uid:$uid" --config.workingdir /workspace \
    --config.env "PATH=$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --config.env HOME=/tmp --config.env XDG_CACHE_HOME=/tmp/.cache --config.env TMPDIR=/tmp \
    --config.env LANG=C.UTF-8 --config.env PYTHONDONTWRITEBYTECODE=1 \
    --config.cmd snakemake --config.cmd --version \
    --config.label "org.opencontainers.image.title=kubecall" \
    --config.label "org.opencontainers.image.version=$tag"
umoci gc --layout "$layout"
rm -f "$output"
skopeo copy --quiet "oci:$image" "oci-archive:$output:kubecall:$tag"

# ---- 6. what was built, next to the archive ----------------------------------------------
digest="$(skopeo inspect --format '{{.Digest}}' "oci-archive:$output")"
info="${output%.tar}.txt"
{
    echo "image: kubecall:$tag"
    echo "digest: $digest"
    echo "archive_bytes: $(stat -c %s "$output")"
    echo "source_date_epoch: $SOURCE_DATE_EPOCH"
    echo "layers (gzip digest, uncompressed bytes, content):"
    mapfile -t digests < <(skopeo inspect --format '{{range .Layers}}{{println .}}{{end}}' \
        "oci-archive:$output")
    names=(debian venv kubecall)
    for i in 0 1 2; do
        echo "  ${digests[$i]} $(stat -c %s "$work/layer-${names[$i]}.tar") ${names[$i]}"
    done
    echo "tools:"
    chroot "$rootfs" dpkg-query -W -f '  ${Package} ${Version}\n' "${packages[@]}"
    echo "python packages:"
    (cd "$wheels/deps" && ls ./*.whl | sed -E 's|^\./([^-]+)-([^-]+)-.*|  \1 \2|')
} > "$info"
echo "$digest"
