"""Unpack a staged workflow archive into a working directory on the workspace claim.

This file runs inside the staging pod: ``kubecall stage`` ships its source in the ConfigMap
next to the archive and runs ``python unpack.py ARCHIVE WORKDIR``, so it uses the standard
library only and works with any Python 3.8+ image, whatever kubecall version the image has.

Every member is checked before anything is written: regular files and directories only, no
absolute paths, no ``..``, nothing under the run's own directories (results/, logs/,
.snakemake/), no path through a symlink out of the working directory. Each file is written
under a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import sys
import tarfile
from pathlib import Path, PurePosixPath

# What a run writes in its working directory: staging never creates, replaces or removes
# anything there (keep in sync with kubecall.cluster.stage.PROTECTED_DIRS).
PROTECTED_DIRS = frozenset({"results", "logs", ".snakemake"})
FILE_MODE, EXECUTABLE_MODE, DIR_MODE = 0o664, 0o775, 0o775


class UnsafeArchive(Exception):
    """A member that must not be unpacked; the message names it."""


def member_problem(member: tarfile.TarInfo) -> str | None:
    """Why ``member`` must not be unpacked, or None when it is safe."""
    name = member.name
    path = PurePosixPath(name)
    if not name or path.is_absolute() or name.startswith("/"):
        return f"{name!r}: absolute or empty path"
    if ".." in path.parts:
        return f"{name!r}: '..' in the path"
    if not (member.isreg() or member.isdir()):
        return f"{name!r}: not a regular file or directory (links and devices are refused)"
    if path.parts and path.parts[0] in PROTECTED_DIRS:
        return f"{name!r}: under {path.parts[0]}/, which belongs to the runs"
    return None


def check_members(members: list[tarfile.TarInfo]) -> None:
    problems = [p for p in (member_problem(m) for m in members) if p]
    if problems:
        raise UnsafeArchive("refusing the archive: " + "; ".join(problems))


def _inside(workdir: Path, target: Path) -> bool:
    """Whether ``target``'s existing part resolves inside ``workdir`` (no symlink escapes)."""
    root = workdir.resolve()
    resolved = target.resolve()
    return resolved == root or root in resolved.parents


def _same_content(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> bool:
    """Whether ``target`` already holds exactly ``member``'s bytes (then it is left alone,
    mtime included, so snakemake sees no change)."""
    if not target.is_file() or target.stat().st_size != member.size:
        return False
    source = archive.extractfile(member)
    if source is None:
        return False
    with source, open(target, "rb") as current:
        while True:
            chunk = source.read(1 << 20)
            if chunk != current.read(len(chunk)):
                return False
            if not chunk:
                return True


def _write_file(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    source = archive.extractfile(member)
    if source is None:
        raise UnsafeArchive(f"{member.name!r}: no data")
    temporary = target.with_name(f".{target.name}.stage-{os.getpid()}")
    try:
        with source, open(temporary, "wb") as out:
            while True:
                chunk = source.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, EXECUTABLE_MODE if member.mode & 0o111 else FILE_MODE)
        # The checkout's modification time, as `cp -p` keeps it: snakemake's mtime trigger
        # then sees what the user changed, not when it was staged.
        os.utime(temporary, (member.mtime, member.mtime))
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()


def unpack(archive_path: Path, workdir: Path) -> tuple[int, int, int]:
    """Unpack into ``workdir`` (created if needed).

    Returns (files, bytes, unchanged): the archive's files and bytes, and how many of those
    files were already there with the same content (left untouched). Every member is checked
    before the first file is written.
    """
    with tarfile.open(archive_path, "r:gz") as archive:
        members = archive.getmembers()
        check_members(members)
        workdir.mkdir(parents=True, exist_ok=True)
        for member in members:
            target = workdir / member.name
            if not _inside(workdir, target.parent if member.isreg() else target):
                raise UnsafeArchive(f"{member.name!r}: its directory leads out of {workdir} "
                                    "through a symlink")
            if member.isreg() and (target.is_symlink() or target.is_dir()):
                raise UnsafeArchive(f"{member.name!r}: {target} exists and is not a file")
        files = size = unchanged = 0
        for member in members:
            target = workdir / member.name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                os.chmod(target, DIR_MODE)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if _same_content(archive, member, target):
                unchanged += 1
            else:
                _write_file(archive, member, target)
            files += 1
            size += member.size
    return files, size, unchanged


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: unpack.py ARCHIVE WORKDIR", file=sys.stderr)
        return 2
    try:
        files, size, unchanged = unpack(Path(argv[0]), Path(argv[1]))
    except (UnsafeArchive, OSError, tarfile.TarError) as exc:
        print(f"stage: {exc}", file=sys.stderr)
        return 1
    print(f"stage: {files} files ({size} bytes) in {argv[1]}: {files - unchanged} written, "
          f"{unchanged} unchanged", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
