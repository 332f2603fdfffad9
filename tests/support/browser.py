"""Load a local HTML page in headless Chromium (Debian's `chromium`): its DOM after the
scripts ran, and what the page wrote to the console (uncaught errors included)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium package (apt-get install chromium)")

# Chromium's console lines on stderr with --enable-logging=stderr:
#   [pid:tid:date:INFO:CONSOLE:1] "message", source: file:///page.html (1)
CONSOLE_LINE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\] \"(.*)\", source: ")

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--no-default-browser-check", "--disable-dev-shm-usage",
         "--disable-extensions", "--disable-sync", "--hide-scrollbars")


@dataclass
class LoadedPage:
    dom: str
    console: list[str]

    @property
    def errors(self) -> list[str]:
        return [line for line in self.console if "Uncaught" in line or "Error" in line]


def load_page(page: Path, screenshot: Path | None = None, height: int = 5600) -> LoadedPage:
    """The DOM after load (``--dump-dom``) and the console messages; optionally a PNG too."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        common = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
                  "--v=0"]
        done = subprocess.run([*common, "--dump-dom", page.resolve().as_uri()],
                              capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        if screenshot is not None:
            shot = subprocess.run([*common, f"--window-size=1280,{height}",
                                   f"--screenshot={screenshot}", page.resolve().as_uri()],
                                  capture_output=True, text=True, timeout=600, check=False)
            assert shot.returncode == 0, shot.stderr[-2000:]
    console = [m.group(1) for m in map(CONSOLE_LINE.search, done.stderr.splitlines()) if m]
    return LoadedPage(done.stdout, console)
