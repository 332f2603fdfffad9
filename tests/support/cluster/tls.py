"""A self-signed certificate for the API server (kubectl sends bearer tokens only over TLS)."""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
from pathlib import Path


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """Write cert.pem/key.pem (valid for 127.0.0.1 and localhost) into `directory`."""
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl is needed to make the test cluster's TLS certificate")
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "apiserver.crt", directory / "apiserver.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "7",
         "-subj", "/CN=kubecall-test-apiserver",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,digitalSignature,keyCertSign"],
        check=True, capture_output=True)
    key.chmod(0o600)
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def pem_base64(cert: Path) -> str:
    return base64.b64encode(cert.read_bytes()).decode()
