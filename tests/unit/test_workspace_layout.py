"""workspace-init's layout step: the directories, or the message for an unwritable share."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubecall.cluster import workspace_layout
from kubecall.cluster.workspace_layout import LAYOUT, UNWRITABLE, lay_out


def test_the_layout_is_made_once_and_again(tmp_path: Path) -> None:
    assert lay_out(tmp_path) == 0
    assert lay_out(tmp_path) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(LAYOUT)


def test_an_unwritable_share_names_the_claim_and_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    tmp_path.chmod(0o755)
    monkeypatch.setattr(workspace_layout.os, "access", lambda path, mode: False)
    assert lay_out(tmp_path) == UNWRITABLE
    message = capsys.readouterr().err
    assert "claim shared-workspace" in message
    assert f"owned by {os.getuid()}:{os.getgid()} with mode 0755" in message
    assert "chown 10001:10001" in message and 'mountPermissions: "0777"' in message
    assert list(tmp_path.iterdir()) == []
