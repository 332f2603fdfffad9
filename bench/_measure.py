"""Run a command to its end and measure it from wait4: wall and CPU seconds and its own peak
RSS (standard library only: the benches' parent processes import it and stay small)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    """One finished command. On a shared machine CPU seconds are the steadier figure: wall
    time counts the waiting for a core, and any time the process was stopped."""

    seconds: float
    cpu_seconds: float  # user + system, of the process and the children it waited for
    peak_mb: float  # ru_maxrss: the largest single process of the tree, MiB
    output: str  # stdout and stderr together when captured, else ""


def run_measured(command: list[str], cwd: Path | None = None, capture: bool = True, *,
                 bgzip_to: Path | None = None, env: Mapping[str, str] | None = None) -> Measured:
    """Run ``command`` (output captured, or left on this process's own with ``capture``
    False; with ``bgzip_to`` its stdout bgzipped into that file and only stderr captured);
    exit with its tail and status if it fails."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        if bgzip_to is not None:
            sink = {"stdout": subprocess.PIPE, "stderr": out}
        else:
            sink = {"stdout": out, "stderr": subprocess.STDOUT} if capture else {}
        process = subprocess.Popen(command, cwd=cwd, env=env, text=True, **sink)  # type: ignore[call-overload]
        if bgzip_to is not None:
            with open(bgzip_to, "wb") as compressed:
                subprocess.run(["bgzip", "-c"], stdin=process.stdout, stdout=compressed,
                               check=True)
            process.stdout.close()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read()
    if process.returncode != 0:
        if output:
            print(shlex.join(command), output[-4000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"{shlex.join(command)} failed with status {process.returncode}")
    return Measured(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output)
