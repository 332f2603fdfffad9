"""Finding 16 (issue 15): bootstrap keeps an existing MinIO Secret, and one made with the
seed practical's `accesskey`/`secretkey` keys is refused with the fix, not waited on."""

from __future__ import annotations

import pytest

from kubecall.cluster.credentials import ensure_minio_secret
from kubecall.errors import KubecallError


class OneSecret:
    """A stand-in for Kube holding one Secret."""

    def __init__(self, data: dict[str, str]) -> None:
        self.secret = {"metadata": {"name": "minio"}, "data": data}

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict:
        return self.secret


def test_a_secret_with_the_old_key_names_is_refused_with_the_fix() -> None:
    kube = OneSecret({"accesskey": "YQ==", "secretkey": "Yg=="})
    with pytest.raises(KubecallError) as raised:
        ensure_minio_secret(kube, "kubecall", dry_run=False)  # type: ignore[arg-type]
    message = str(raised.value)
    assert "has the keys accesskey, secretkey" in message
    assert "--from-literal=rootUser=..." in message and "delete secret minio" in message
    assert "YQ==" not in message


def test_a_secret_with_the_minio_keys_is_kept() -> None:
    kube = OneSecret({"rootUser": "YQ==", "rootPassword": "Yg=="})
    assert ensure_minio_secret(kube, "kubecall", dry_run=False).startswith(  # type: ignore[arg-type]
        "unchanged Secret minio")
