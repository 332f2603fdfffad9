"""The job image the Kubernetes tests run their pods in: this checkout's `container/build.sh`
output, built at most once per change of its inputs and kept under build/test-image/<key>/.

`python -m tests.support.image` builds it if missing and prints its path (`make test` does
this first, so the suite itself finds it built).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "container" / "build.sh"
# What the image is made of; a change to any of them makes a new image.
INPUTS = ("container/build.sh", "container/constraints.txt", "pyproject.toml", "README.md")
SOURCES = ("src",)
# The reference profiles/kubernetes and the manifests run (the cluster maps it to the archive).
REFERENCE = "ghcr.io/kubecall/kubecall"


class ImageBuildError(Exception):
    """container/build.sh failed; the message has the end of its output."""


def input_files() -> list[Path]:
    files = [REPO / name for name in INPUTS]
    for top in SOURCES:
        files += sorted(p for p in (REPO / top).rglob("*") if p.is_file()
                        and "__pycache__" not in p.parts and ".egg-info" not in str(p))
    return files


@functools.cache
def epoch() -> str:
    """The SOURCE_DATE_EPOCH of `make image` (the recipe's commit time): same image as it."""
    return subprocess.run(["bash", str(BUILD), "--epoch"], capture_output=True, text=True,
                          check=True).stdout.strip()


def key() -> str:
    """A hash of the build's epoch and every input's path and content."""
    digest = hashlib.sha256(epoch().encode())
    for path in input_files():
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def archive_path() -> Path:
    return REPO / "build" / "test-image" / key() / "kubecall-image.tar"


def job_image() -> Path:
    """The OCI archive of this checkout's job image, built now if no build has these inputs."""
    archive = archive_path()
    if archive.is_file():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    with (archive.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build, even with two sessions at once
        if archive.is_file():
            return archive
        for old in archive.parent.parent.iterdir():  # earlier inputs' images
            if old != archive.parent:
                shutil.rmtree(old, ignore_errors=True)
        done = subprocess.run(["bash", str(BUILD), str(archive)], capture_output=True,
                              text=True, env={**os.environ, "SOURCE_DATE_EPOCH": epoch()},
                              check=False)
        if done.returncode != 0 or not archive.is_file():
            raise ImageBuildError(f"container/build.sh {archive} failed ({done.returncode}):\n"
                                  + (done.stdout + done.stderr)[-4000:])
    return archive


def main() -> None:
    try:
        print(job_image())
    except ImageBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
