"""Which memory allocator freebayes runs with (config ``calling.allocator``).

freebayes spends much of its time in malloc/free (many small, short-lived objects per
position). Preloading tcmalloc into the freebayes process only cuts its CPU time by about 7%
on the benchmark cohort (bench/scatter.py) without touching the calls: CHROM/POS/REF/ALT/GT
are unchanged. freebayes' floating-point sums depend on memory layout in the last digits, so
QUAL of near-zero-quality records can differ in the 6th significant digit between
allocators; one allocator gives byte-identical records run after run, which is why the
allocator in use is recorded with every batch (results/calls/.../regions.tsv).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from kubecall.errors import KubecallError

TCMALLOC = "tcmalloc"
SYSTEM = "system"
TCMALLOC_LIBRARY = "libtcmalloc_minimal.so.4"
# Debian/Ubuntu (libtcmalloc-minimal4) and other multiarch or plain library directories;
# a conda environment's lib/ (gperftools) is searched first.
LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
                "/usr/lib", "/usr/local/lib")


def library_dirs(environ: Mapping[str, str]) -> list[Path]:
    """Where a named allocator is looked for, in order."""
    prefixes = [environ.get("CONDA_PREFIX", ""), sys.prefix]
    return [Path(p) / "lib" for p in prefixes if p] + [Path(d) for d in LIBRARY_DIRS]


def resolve_allocator(choice: str, environ: Mapping[str, str] | None = None,
                      search: Sequence[Path] | None = None) -> Path | None:
    """The shared library to preload into freebayes, or None for the system allocator.

    ``tcmalloc`` (the default) falls back to the system allocator where tcmalloc is not
    installed, so a laptop without it still runs; ``system`` never preloads; a path must be
    an existing shared library (an explicit choice that cannot be honoured is an error).
    """
    env = os.environ if environ is None else environ
    if choice == SYSTEM or not sys.platform.startswith("linux"):
        return None
    if choice == TCMALLOC:
        for directory in (library_dirs(env) if search is None else search):
            candidate = directory / TCMALLOC_LIBRARY
            if candidate.is_file():
                return candidate
        return None
    path = Path(choice)
    if not path.is_absolute() or not path.is_file():
        raise KubecallError(
            f"config calling.allocator: {choice!r} is not '{TCMALLOC}', '{SYSTEM}' or the "
            "absolute path of an existing shared library (e.g. "
            "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2)")
    return path


def allocator_name(library: Path | None) -> str:
    """What regions.tsv and the logs say was used."""
    return library.name if library else SYSTEM


def preload_environment(library: Path | None,
                        environ: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """The environment for a freebayes process preloading ``library`` (None: inherit)."""
    if library is None:
        return None
    env = dict(os.environ if environ is None else environ)
    # Keep whatever the user already preloads; ours goes first.
    env["LD_PRELOAD"] = " ".join(filter(None, [str(library), env.get("LD_PRELOAD", "")]))
    return env
