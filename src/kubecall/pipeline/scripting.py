"""Glue for Snakemake ``script:`` adapters: log to the rule's log file, report user errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kubecall.errors import KubecallError

T = TypeVar("T")


def run_logged(log_path: str | Path, action: Callable[[], T]) -> T:
    """Run ``action`` with logging sent to ``log_path``; a user error exits 1 with its message.

    The message goes to the log and to stderr, so it is both kept with the job and shown by
    Snakemake, without a traceback for a problem the user can fix.
    """
    handler = logging.FileHandler(log_path, mode="a")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        return action()
    except KubecallError as exc:
        logging.getLogger("kubecall").error("%s", exc)
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    finally:
        handler.close()
        root.removeHandler(handler)
