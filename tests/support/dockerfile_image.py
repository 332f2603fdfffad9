"""container/Dockerfile built the way a user builds it, with `buildah bud` (vfs storage,
chroot isolation), on a local stand-in for its base: Debian bookworm by mmdebstrap
(`--variant=apt`, what debian:bookworm-slim holds), since no registry can be reached here.
Built at most once per change of its inputs, kept under build/test-dockerfile/<key>/.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import ssl
import subprocess
from pathlib import Path

from tests.support.image import REPO, input_files

DOCKERFILE = REPO / "container" / "Dockerfile"
MIRRORS = ("deb http://deb.debian.org/debian bookworm main",
           "deb http://deb.debian.org/debian bookworm-updates main",
           "deb http://deb.debian.org/debian-security bookworm-security main")


class DockerfileBuildError(Exception):
    """The base or the buildah build failed; the message has the end of the output."""


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise DockerfileBuildError(f"{' '.join(argv[:4])} ... failed ({done.returncode}):\n"
                                   + (done.stdout + done.stderr)[-4000:])


def key() -> str:
    digest = hashlib.sha256(DOCKERFILE.read_bytes())
    for path in input_files():
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_base(work: Path) -> Path:
    """An OCI archive of Debian bookworm with apt in `work`: the Dockerfile's base."""
    _run(["mmdebstrap", "--quiet", "--variant=apt", "--include=ca-certificates", "bookworm",
          str(work / "base.tar"), *MIRRORS], env={**os.environ, "SOURCE_DATE_EPOCH": "0"})
    layout = f"{work}/base-oci:base"
    for argv in (["umoci", "init", "--layout", f"{work}/base-oci"],
                 ["umoci", "new", "--image", layout],
                 ["umoci", "raw", "add-layer", "--image", layout, str(work / "base.tar")],
                 ["umoci", "config", "--image", layout, "--config.cmd", "bash", "--config.env",
                  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                 ["skopeo", "copy", "--quiet", f"oci:{layout}",
                  f"oci-archive:{work}/base-oci.tar:base"]):
        _run(argv)
    (work / "base.tar").unlink()
    shutil.rmtree(work / "base-oci")
    return work / "base-oci.tar"


def ca_bundle() -> str | None:
    """The CA bundle pip trusts here (a TLS-inspecting proxy's CA may be in it)."""
    path = os.environ.get("PIP_CERT") or ssl.get_default_verify_paths().cafile
    return path if path and Path(path).is_file() else None


def dockerfile_image() -> Path:
    """The OCI archive of container/Dockerfile's image for this checkout.

    buildah's storage (a full copy of the root per vfs layer, about 2.5 GB) stays under
    build/test-dockerfile/storage until the next build, which starts from an empty one:
    deleting it at the end of the session would cost minutes on this disk for nothing.
    """
    top = REPO / "build" / "test-dockerfile"
    archive = top / key() / "kubecall-dockerfile.tar"
    if archive.is_file():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    with (top / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if archive.is_file():
            return archive
        for old in top.glob("*/kubecall-dockerfile.tar"):
            shutil.rmtree(old.parent, ignore_errors=True)
        storage, base = top / "storage", top / "base" / "base-oci.tar"
        for state in (storage, top / "run"):
            shutil.rmtree(state, ignore_errors=True)
        if not base.is_file():
            shutil.rmtree(base.parent, ignore_errors=True)
            base.parent.mkdir(parents=True)
            build_base(base.parent)
        buildah = ["buildah", "--root", str(storage), "--runroot", str(top / "run"),
                   "--storage-driver", "vfs"]
        extra = []
        if ca_bundle():
            extra = ["--volume", f"{ca_bundle()}:/run/host-ca.crt:ro",
                     "--build-arg", "PIP_CERT=/run/host-ca.crt"]
        _run([*buildah, "bud", "--isolation", "chroot", "--build-arg",
              f"BASE=oci-archive:{base}", *extra, "-f", str(DOCKERFILE), "-t",
              "kubecall-dockerfile", str(REPO)])
        _run([*buildah, "push", "--quiet", "kubecall-dockerfile",
              f"oci-archive:{archive}:kubecall"])
    return archive
