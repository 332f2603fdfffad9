"""Ctrl-C reaches the executor even when snakemake's log handler swallows it.

snakemake's ColorizingTextHandler.emit ignores a KeyboardInterrupt raised while it writes a
line. A driver whose Ctrl-C landed in such a write went on waiting for its running Jobs for
ever. Each case runs a process that logs through that handler into a pipe nobody reads, so
its main thread is blocked in the write when SIGINT comes, as a driver logging to a slow
terminal or a full pipe is.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.support.cluster.helpers import wait_for

# A process that logs like snakemake until a write blocks, then waits like its scheduler.
DRIVER = r"""
import logging, signal, sys, threading, time
from snakemake.logging import ColorizingTextHandler

if sys.argv[1] == "guarded":
    from snakemake_executor_plugin_kubecall.executor import Interrupts
    interrupts = Interrupts(grace=0.5)
    interrupts.install(signal.SIGINT)

    def status_checks():  # snakemake's status thread calls check_active_jobs
        while True:
            time.sleep(0.2)
            interrupts.check()

    threading.Thread(target=status_checks, daemon=True).start()
log = logging.getLogger("driver")
log.addHandler(ColorizingTextHandler(nocolor=True, stream=sys.stderr))
log.setLevel(logging.INFO)
try:
    for _ in range(2000):  # far more than a pipe holds
        log.info("x" * 200)
    print("logged", flush=True)
    if sys.argv[1] == "guarded":
        threading.Semaphore(0).acquire()  # the scheduler waiting for a job event
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""

# The write(2) system call's number, as /proc/PID/task/TID/syscall shows it.
WRITE_SYSCALL = {"x86_64": "1", "aarch64": "64"}[platform.machine()]


def writing_to_stderr(pid: int) -> bool:
    """True while the process's main thread is blocked in write(2) on its stderr (fd 2)."""
    try:
        fields = Path(f"/proc/{pid}/task/{pid}/syscall").read_text().split()
    except OSError:
        return False
    return fields[:2] == [WRITE_SYSCALL, "0x2"]


def interrupt_while_logging(mode: str) -> str:
    """Run DRIVER in `mode`, send SIGINT while it is blocked writing a log line, then let
    the log flow again; what it printed."""
    read_end, write_end = os.pipe()
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, mode], stdout=subprocess.PIPE,
                              stderr=write_end, text=True)
    os.close(write_end)

    def drain() -> None:
        while os.read(read_end, 65536):
            pass

    reader = threading.Thread(target=drain, daemon=True)
    try:
        wait_for(lambda: driver.poll() is None and writing_to_stderr(driver.pid), timeout=120,
                 what="the process to block writing its log")
        driver.send_signal(signal.SIGINT)
        reader.start()
        stdout, _ = driver.communicate(timeout=120)  # a hang guard, not a speed
        return stdout
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
        if reader.is_alive():
            reader.join(timeout=60)
        os.close(read_end)


def test_snakemakes_log_handler_loses_a_ctrl_c_during_a_write() -> None:
    """The upstream behaviour the guard exists for: the loop ends as if no signal came."""
    assert interrupt_while_logging("plain") == "logged\n"


def test_the_executor_raises_a_lost_ctrl_c_again() -> None:
    """The status thread sees no cancellation within the grace period and interrupts the
    main thread again, which wakes it from the scheduler's wait."""
    assert "interrupted" in interrupt_while_logging("guarded")
