"""Choosing the allocator preloaded into freebayes (config calling.allocator)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.pipeline.allocator import (
    TCMALLOC_LIBRARY,
    allocator_name,
    preload_environment,
    resolve_allocator,
)


def test_tcmalloc_is_found_in_the_first_directory_holding_it(tmp_path: Path) -> None:
    first, second = tmp_path / "conda" / "lib", tmp_path / "usr" / "lib"
    for directory in (first, second):
        directory.mkdir(parents=True)
    (second / TCMALLOC_LIBRARY).write_bytes(b"")
    assert resolve_allocator("tcmalloc", {}, [first, second]) == second / TCMALLOC_LIBRARY
    (first / TCMALLOC_LIBRARY).write_bytes(b"")
    assert resolve_allocator("tcmalloc", {}, [first, second]) == first / TCMALLOC_LIBRARY


def test_tcmalloc_missing_falls_back_to_the_system_allocator(tmp_path: Path) -> None:
    assert resolve_allocator("tcmalloc", {}, [tmp_path]) is None
    assert allocator_name(None) == "system"


def test_system_never_preloads(tmp_path: Path) -> None:
    (tmp_path / TCMALLOC_LIBRARY).write_bytes(b"")
    assert resolve_allocator("system", {}, [tmp_path]) is None


def test_a_conda_environment_is_searched_first(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / TCMALLOC_LIBRARY).write_bytes(b"")
    assert resolve_allocator("tcmalloc", {"CONDA_PREFIX": str(tmp_path)}) == (
        tmp_path / "lib" / TCMALLOC_LIBRARY)


def test_an_explicit_library_must_exist(tmp_path: Path) -> None:
    library = tmp_path / "libjemalloc.so.2"
    library.write_bytes(b"")
    assert resolve_allocator(str(library)) == library
    for bad in (str(tmp_path / "missing.so"), "libjemalloc.so.2", "jemalloc"):
        with pytest.raises(KubecallError, match="calling.allocator.*absolute path"):
            resolve_allocator(bad)


def test_preloading_keeps_what_the_user_already_preloads(tmp_path: Path) -> None:
    library = tmp_path / TCMALLOC_LIBRARY
    env = preload_environment(library, {"LD_PRELOAD": "/opt/libmine.so", "PATH": "/bin"})
    assert env == {"LD_PRELOAD": f"{library} /opt/libmine.so", "PATH": "/bin"}
    assert preload_environment(library, {})["LD_PRELOAD"] == str(library)
    assert preload_environment(None, {"PATH": "/bin"}) is None
