"""Glue for the workflow's adapters (workflow/scripts/): each is run by its rule's ``shell:``
with the rule's paths and params as options; it logs to the rule's log file and reports user
errors without a traceback."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from kubecall.errors import KubecallError

T = TypeVar("T")


def step_parser(description: str | None, paths: Sequence[str] = ()) -> argparse.ArgumentParser:
    """An adapter's parser, with the options every rule passes (``--log``, ``--threads``) and
    a required path option ``--<name>`` for each of ``paths`` (its rule's files)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--log", type=Path, required=True, help="the rule's log file")
    parser.add_argument("--threads", type=int, default=1, help="the job's threads")
    for name in paths:
        parser.add_argument(f"--{name}", type=Path, required=True)
    return parser


def json_option(text: str) -> object:
    """An option's JSON value (a config section the rule passes as ``json.dumps``)."""
    return json.loads(text)


def run_step(parser: argparse.ArgumentParser,
             action: Callable[[argparse.Namespace], T]) -> T:
    """Parse the command line, then run ``action`` logged to ``--log`` (run_logged)."""
    args = parser.parse_args()
    return run_logged(args.log, lambda: action(args))


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
