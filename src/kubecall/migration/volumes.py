"""``kubernetes-persistent-volumes`` (``NAME:PATH`` claims) onto kubecall's two claims."""

from __future__ import annotations

from kubecall.cluster.contract import WORKSPACE_PATH
from kubecall.errors import KubecallError
from kubecall.migration.model import Conversion


def parse_volumes(value: object, key: str) -> list[tuple[str, str]]:
    """``["name:/path", ...]`` (or one string of them) as (claim, path) pairs."""
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list):
        raise KubecallError(f"{key}: expected a list of NAME:PATH, got {value!r}")
    pairs = []
    for item in items:
        name, sep, path = str(item).partition(":")
        if not sep or not name or not path.startswith("/"):
            raise KubecallError(f"{key}: {item!r} is not NAME:/PATH (the plugin's own "
                                "syntax, e.g. shared-workspace:/workspace)")
        pairs.append((name, path))
    return pairs


def translate_volumes(pairs: list[tuple[str, str]], key: str, out: Conversion,
                      workspace_claim: str | None) -> None:
    """The workspace claim (named by ``workspace_claim`` or mounted at /workspace), then the
    first other claim as the read-only data source; any further claim is a finding."""
    chosen = [p for p in pairs if p[0] == workspace_claim] or \
        [p for p in pairs if p[1] == WORKSPACE_PATH and workspace_claim is None]
    rest = [p for p in pairs if p not in chosen[:1]]
    if chosen:
        name, path = chosen[0]
        out.add("kubecall-workspace-claim", name, f"From {key}: {name}:{path}. It must be "
                "ReadWriteMany: the driver and every job work in it at the same path.")
        out.add("kubecall-workspace-path", path, f"From {key}: {name}:{path}; the driver "
                "must see the claim at this path too.")
    if rest:
        name, path = rest[0]
        out.add("kubecall-datasource-claim", name, f"From {key}: {name}:{path}. kubecall "
                "mounts it readOnly: jobs write only to the workspace.")
        out.add("kubecall-datasource-path", path, f"From {key}: {name}:{path}.")
    for name, path in rest[1:]:
        out.untranslatable(f"{key}: {name}:{path}", "kubecall mounts one workspace and one "
                           "read-only data-source claim; copy this claim's data onto one of "
                           "them")
