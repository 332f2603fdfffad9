"""Rendering the kustomize manifests in k8s/ into a list of objects.

Rendering runs kustomize, preferably as ``kubectl kustomize`` (kubectl ≥ 1.14 embeds it), else
a standalone ``kustomize build``. Fallback where neither exists: render on another machine
(``kubectl kustomize k8s/overlays/NAME > rendered.yaml``) and pass ``--manifests rendered.yaml``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

from kubecall.cluster.contract import Obj
from kubecall.errors import KubecallError


def k8s_dir() -> Path:
    """The k8s/ directory: $KUBECALL_K8S_DIR, ./k8s, or the one next to this source tree."""
    candidates = [Path(os.environ["KUBECALL_K8S_DIR"])] if os.environ.get("KUBECALL_K8S_DIR") \
        else []
    candidates += [Path.cwd() / "k8s", Path(__file__).resolve().parents[3] / "k8s"]
    for candidate in candidates:
        if (candidate / "base" / "kustomization.yaml").is_file():
            return candidate
    raise KubecallError(
        "cannot find the kubecall k8s/ directory (tried "
        + ", ".join(map(str, candidates)) + "); run from the repository or set KUBECALL_K8S_DIR")


def overlay_names() -> tuple[str, ...]:
    """The overlays shipped in k8s/overlays: every directory there with a kustomization (a new
    overlay is a new directory, nothing else)."""
    try:
        root = k8s_dir() / "overlays"
    except KubecallError:
        return ()
    return tuple(sorted(p.parent.name for p in root.glob("*/kustomization.yaml")))


def overlay_dir(overlay: str) -> Path:
    """An overlay given by name (k8s/overlays/NAME) or as a directory with a kustomization."""
    path = Path(overlay)
    if not (path / "kustomization.yaml").is_file():
        path = k8s_dir() / "overlays" / overlay
    if not (path / "kustomization.yaml").is_file():
        raise KubecallError(
            f"--overlay {overlay}: no kustomization.yaml there; use one of "
            f"{', '.join(overlay_names())} or a directory holding a kustomization.yaml")
    return path


def kustomize_command(directory: Path) -> list[str]:
    """The kustomize invocation available on this machine."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize", str(directory)]
    if shutil.which("kustomize"):
        return ["kustomize", "build", str(directory)]
    raise KubecallError(
        "neither kubectl nor kustomize is installed: install one, or render on another machine "
        f"(kubectl kustomize {directory} > rendered.yaml) and pass --manifests rendered.yaml")


def render(directory: Path) -> list[Obj]:
    """Objects of a kustomization, in kustomize's output order."""
    done = subprocess.run(kustomize_command(directory), capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise KubecallError(f"kustomize failed on {directory}: {done.stderr.strip()}")
    return parse(done.stdout, str(directory))


def load(path: Path) -> list[Obj]:
    """Objects from a pre-rendered multi-document YAML file (the no-kustomize fallback)."""
    try:
        return parse(path.read_text(), str(path))
    except OSError as exc:
        raise KubecallError(f"--manifests {path}: {exc.strerror}") from exc


def parse(text: str, source: str) -> list[Obj]:
    try:
        documents = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as exc:
        raise KubecallError(f"{source}: not valid YAML: {exc}") from exc
    for document in documents:
        if not isinstance(document, dict) or not {"apiVersion", "kind"} <= document.keys() \
                or not (document.get("metadata") or {}).get("name"):
            raise KubecallError(f"{source}: every document needs apiVersion, kind, metadata.name")
    return documents


def objects_for(overlay: str | None, manifests: Path | None) -> list[Obj]:
    """The objects named on the command line: --manifests FILE wins over --overlay NAME."""
    if manifests is not None:
        return load(manifests)
    if not overlay:
        raise KubecallError("give --overlay NAME (minikube, ehk, gke) or --manifests FILE")
    return render(overlay_dir(overlay))


def namespace_of(objects: list[Obj]) -> str:
    """The namespace the manifests create."""
    names = [o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"]
    if len(names) != 1:
        raise KubecallError(f"the manifests must create exactly one Namespace, found {names}")
    return names[0]
