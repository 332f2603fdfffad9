"""One test cluster: store, API server, controllers and node agent, plus test handles."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.leftovers import temp_prefix

from . import mesh
from .api import Api
from .apiserver import ApiServer
from .controllers import ControllerManager
from .faults import Faults, RequestLog
from .images import TOO_MANY_REQUESTS
from .node import Entrypoint, NodeAgent
from .rbac import Tokens
from .resources import lookup
from .store import Obj, Store
from .tls import make_certificate, pem_base64, server_context
from .volumes import backing_dir

ALL_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]
# Storage classes every cluster starts with: name -> (provisioner, access modes it can provide).
DEFAULT_STORAGE_CLASSES: dict[str, tuple[str, list[str]]] = {
    "standard": ("rancher.io/local-path", ["ReadWriteOnce", "ReadWriteOncePod"]),
    "nfs-client": ("cluster.local/nfs-subdir-external-provisioner", ALL_MODES),
}
RT = {name: lookup(group, name) for group, name in [
    ("", "namespaces"), ("", "nodes"), ("", "pods"), ("", "serviceaccounts"),
    ("storage.k8s.io", "storageclasses"), ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "clusterrolebindings")]}


class Cluster:
    """A small, single-node Kubernetes look-alike for tests.

    Options: `nfs_exports` maps "server:/path" of NFS-backed PVs to local directories;
    `storage_classes` maps class name -> (provisioner, access modes it can provision);
    `wait_for_first_consumer` names the classes whose claims bind only when a pod using them
    is scheduled; `root_owned_classes` names NFS-style classes, whose volumes are root:root
    0755 and ignore the pod's fsGroup (the others are 0777);
    `image_entrypoints` stands in for images' ENTRYPOINTs (no image is pulled: containers run
    host tools); `images` maps image references (exact, or by repository) to OCI archives:
    then containers run inside their image (tests/support/cluster/images.py), except those of images
    in `image_entrypoints` or `host_images`, which still run host tools, and any other image
    fails to pull (ErrImagePull, ImagePullBackOff); `node_resources` sets the node's
    allocatable cpu/memory/pods (pods whose requests do not fit stay Pending, Unschedulable);
    `tls=False` serves plain HTTP (kubectl then sends no token and gets 401);
    `sidecar_injection` ("regular" or "native") installs a mesh's sidecar injector for
    namespaces labelled `istio-injection: enabled` (tests/support/cluster/mesh.py).

    Use `start()`/`stop()` (or a `with` block). `kubeconfig` is written into the state dir with
    an admin token; `kubeconfig_for(namespace, service_account)` writes one whose token is
    subject to RBAC.
    """

    def __init__(self, state_dir: Path | None = None, port: int = 0,
                 nfs_exports: dict[str, str | Path] | None = None,
                 storage_classes: dict[str, tuple[str, list[str]]] | None = None,
                 default_storage_class: str | None = "standard", tls: bool = True,
                 image_entrypoints: dict[str, Entrypoint] | None = None,
                 node_resources: dict[str, str] | None = None,
                 images: dict[str, str | Path] | None = None,
                 host_images: set[str] | None = None,
                 wait_for_first_consumer: tuple[str, ...] = (),
                 sidecar_injection: str | None = None,
                 root_owned_classes: tuple[str, ...] = ()) -> None:
        self._own_tmp = None
        if state_dir is None:
            self._own_tmp = tempfile.TemporaryDirectory(prefix=temp_prefix("cluster"))
            state_dir = Path(self._own_tmp.name)
        self.state_dir = Path(state_dir).resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store()
        self.api = Api(self.store)
        if sidecar_injection is not None:
            if sidecar_injection not in mesh.MODES:
                raise ValueError(f"sidecar_injection: one of {mesh.MODES}")
            # The mesh's proxy runs on host tools, whatever images the node has.
            host_images = {*(host_images or ()), mesh.PROXY_IMAGE}
        self.api.sidecar_injection = sidecar_injection
        self.tokens = Tokens()
        self.tls = tls
        context = None
        if tls:
            self.cert, key = make_certificate(self.state_dir / "pki")
            context = server_context(self.cert, key)
        self.server = ApiServer(self.store, self.api, self.tokens, port, context)
        self.storage_classes = dict(DEFAULT_STORAGE_CLASSES if storage_classes is None
                                    else storage_classes)
        self.default_storage_class = default_storage_class
        # Classes whose claims bind only once a pod using them is scheduled (GKE standard-rwo,
        # EKS gp2/gp3); the others bind at once.
        self.wait_for_first_consumer = set(wait_for_first_consumer)
        # What the scheduler may hand out; generous so real resource requests still schedule.
        self.node_resources = {"cpu": "64", "memory": "256Gi", "pods": "110",
                               **(node_resources or {})}
        class_modes = {name: modes for name, (_, modes) in self.storage_classes.items()}
        self.controllers = ControllerManager(self.store, self.api, self.tokens, self.state_dir,
                                             class_modes, frozenset(root_owned_classes))
        exports = {key: Path(value) for key, value in (nfs_exports or {}).items()}
        self.node = NodeAgent(self.store, self.api, self.tokens, self.server.url,
                              self.state_dir, exports, self.cert if tls else None,
                              image_entrypoints=image_entrypoints,
                              images=None if images is None else
                              {name: Path(path) for name, path in images.items()},
                              host_images=host_images)
        self.server.log_source = self.node.log_source
        self.server.evictor = self.node.evict
        self.kubeconfig = self.state_dir / "kubeconfig"
        self._started = False

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> Cluster:
        self._seed()
        self.server.start()
        self.controllers.start()
        self.node.start()
        self.write_kubeconfig(self.kubeconfig, self.tokens.admin_token, "admin", "default")
        self._started = True
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.node.stop()
        self.controllers.stop()
        self.server.stop()
        if self._own_tmp is not None:
            self._own_tmp.cleanup()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _seed(self) -> None:
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.api.create(RT["namespaces"], "", {"metadata": {"name": name}})
            self.store.create(RT["serviceaccounts"], {"metadata": {"name": "default",
                                                                   "namespace": name}})
        self.store.create(RT["nodes"], {
            "metadata": {"name": self.node.node_name, "labels": {
                "kubernetes.io/hostname": self.node.node_name, "kubernetes.io/os": "linux",
                "node-role.kubernetes.io/control-plane": ""}},
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True",
                                       "reason": "KubeletReady"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0-kubecall-test",
                                    "operatingSystem": "linux", "architecture": "amd64"},
                       "capacity": dict(self.node_resources),
                       "allocatable": dict(self.node_resources),
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}})
        services = lookup("", "services")
        assert services is not None
        self.store.create(services, {
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                "targetPort": 6443}], "sessionAffinity": "None"},
            "status": {"loadBalancer": {}}})
        for name, (provisioner, _) in self.storage_classes.items():
            annotations = {}
            if name == self.default_storage_class:
                annotations["storageclass.kubernetes.io/is-default-class"] = "true"
            self.api.create(RT["storageclasses"], "", {
                "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": name, "annotations": annotations},
                "provisioner": provisioner, "reclaimPolicy": "Delete",
                "volumeBindingMode": "WaitForFirstConsumer"
                if name in self.wait_for_first_consumer else "Immediate"})
        self.api.create(RT["clusterroles"], "", {
            "metadata": {"name": "cluster-admin"},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})
        self.api.create(RT["clusterroles"], "", {
            "metadata": {"name": "system:basic-user"},
            "rules": [{"apiGroups": ["authorization.k8s.io"],
                       "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                       "verbs": ["create"]}]})
        self.api.create(RT["clusterrolebindings"], "", {
            "metadata": {"name": "system:basic-user"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "system:basic-user"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                          "name": "system:authenticated"}]})
        self.api.create(RT["clusterroles"], "", {
            "metadata": {"name": "view"},
            "rules": [{"apiGroups": ["", "apps", "batch"], "resources": ["*"],
                       "verbs": ["get", "list", "watch"]}]})

    # ---- handles for tests ---------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    @property
    def faults(self) -> Faults:
        return self.server.faults

    @property
    def requests(self) -> RequestLog:
        return self.server.requests

    @property
    def memory_limits_enforced(self) -> bool:
        return self.node.cgroups.enforced

    def write_kubeconfig(self, path: Path, token: str, user: str, namespace: str) -> Path:
        config = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "current-context": "kubecall-test",
            "clusters": [{"name": "kubecall-test", "cluster": self._cluster_entry()}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "kubecall-test", "context": {
                "cluster": "kubecall-test", "user": user, "namespace": namespace}}],
        }
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)
        return path

    def _cluster_entry(self) -> dict[str, str]:
        entry = {"server": self.url}
        if self.tls:
            entry["certificate-authority-data"] = pem_base64(self.cert)
        return entry

    def token_for(self, namespace: str, service_account: str) -> str:
        """A bearer token for an existing service account (RBAC applies to it)."""
        return self.tokens.mint(namespace, service_account)

    def kubeconfig_for(self, namespace: str, service_account: str) -> Path:
        path = self.state_dir / f"kubeconfig-{namespace}-{service_account}"
        return self.write_kubeconfig(path, self.token_for(namespace, service_account),
                                     f"{namespace}-{service_account}", namespace)

    def map_nfs_export(self, server: str, path: str, directory: str | Path) -> None:
        """Back NFS volumes `server:path` (static PVs with `spec.nfs`) by a local directory."""
        self.node.nfs_exports[f"{server}:{path}"] = Path(directory)

    @property
    def pod_env(self) -> dict[str, str]:
        """Environment every container starts with (edit to add e.g. PYTHONPATH)."""
        return self.node.base_env

    def hold_pods(self, predicate: Callable[[Obj], bool] | None = None) -> None:
        """Keep new pods (those matching `predicate`, or all) Pending until `release_pods()`."""
        self.node.hold_pods(predicate)

    def release_pods(self) -> None:
        self.node.release_pods()

    def kill_pod(self, namespace: str, name: str, container: str | None = None) -> None:
        """SIGKILL a pod's running containers (exit code 137, as after a crash)."""
        self.node.kill_pod(namespace, name, container)

    def fail_pulls(self, count: int, message: str | None = None,
                   image: str | None = None) -> None:
        """The node's next `count` image pulls (of `image`, or any; -1: all until
        `clear_pull_failures`) fail with `message` (default: a registry's 429), as
        ErrImagePull then ImagePullBackOff; the kubelet's retries then pull normally."""
        if self.node.images is None:
            raise ValueError("fail_pulls needs a cluster with images (no pull happens else)")
        self.node.images.fail_pulls(count, message or TOO_MANY_REQUESTS, image)

    def clear_pull_failures(self) -> None:
        if self.node.images is not None:
            self.node.images.clear_pull_failures()

    def evict_pod(self, namespace: str, name: str) -> None:
        """Evict a pod: DisruptionTarget condition, containers stopped, pod deleted."""
        self.node.evict(namespace, name)

    def get(self, kind: str, name: str, namespace: str = "default", group: str = "") -> Obj:
        """Read an object straight from the store (no request is logged)."""
        rt = lookup(group, kind)
        if rt is None:
            raise KeyError(f"unknown resource {group}/{kind}")
        return self.store.get(rt, namespace, name)

    def list(self, kind: str, namespace: str = "", group: str = "") -> list[Obj]:
        rt = lookup(group, kind)
        if rt is None:
            raise KeyError(f"unknown resource {group}/{kind}")
        return self.store.list(rt, namespace)[0]

    def claim_dir(self, namespace: str, claim: str) -> Path:
        """The host directory behind a bound PersistentVolumeClaim (what pods see mounted),
        so tests can seed inputs and check outputs."""
        pvc = self.get("persistentvolumeclaims", claim, namespace)
        volume = pvc["spec"].get("volumeName")
        if not volume or (pvc.get("status") or {}).get("phase") != "Bound":
            raise ValueError(f"claim {namespace}/{claim} is not bound")
        pv = self.get("persistentvolumes", volume, "")
        return backing_dir(pv, self.state_dir, self.node.nfs_exports)

    def describe(self) -> dict[str, Any]:
        return {"url": self.url, "kubeconfig": str(self.kubeconfig),
                "state_dir": str(self.state_dir),
                "memory_limits_enforced": self.memory_limits_enforced}
