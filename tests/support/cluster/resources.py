"""The resource kinds the test cluster serves: names, scope, verbs and subresources."""

from __future__ import annotations

from dataclasses import dataclass

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ResourceType:
    """One served resource (e.g. apps/v1 deployments)."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = tuple(ALL_VERBS)
    categories: tuple[str, ...] = ()
    has_spec: bool = True

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)


def _r(group: str, version: str, kind: str, plural: str, namespaced: bool = True,
       **kw: tuple[str, ...] | bool) -> ResourceType:
    return ResourceType(group, version, kind, plural, namespaced, **kw)


RESOURCE_TYPES: list[ResourceType] = [
    _r("", "v1", "Namespace", "namespaces", False, short_names=("ns",), subresources=("status",),
       verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    _r("", "v1", "Node", "nodes", False, short_names=("no",), subresources=("status",)),
    _r("", "v1", "Pod", "pods", short_names=("po",), categories=("all",),
       subresources=("status", "log", "eviction", "binding")),
    _r("", "v1", "Secret", "secrets", has_spec=False),
    _r("", "v1", "ConfigMap", "configmaps", short_names=("cm",), has_spec=False),
    _r("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",), subresources=("token",),
       has_spec=False),
    _r("", "v1", "Service", "services", short_names=("svc",), categories=("all",),
       subresources=("status",)),
    _r("", "v1", "Endpoints", "endpoints", short_names=("ep",), has_spec=False),
    _r("", "v1", "PersistentVolume", "persistentvolumes", False, short_names=("pv",),
       subresources=("status",)),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",),
       subresources=("status",)),
    _r("", "v1", "Event", "events", short_names=("ev",), has_spec=False),
    _r("", "v1", "ResourceQuota", "resourcequotas", short_names=("quota",),
       subresources=("status",)),
    _r("", "v1", "LimitRange", "limitranges", short_names=("limits",)),
    _r("apps", "v1", "Deployment", "deployments", short_names=("deploy",), categories=("all",),
       subresources=("status", "scale")),
    _r("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), categories=("all",),
       subresources=("status", "scale")),
    _r("batch", "v1", "Job", "jobs", categories=("all",), subresources=("status",)),
    _r("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), categories=("all",),
       subresources=("status",)),
    _r("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
       short_names=("hpa",), categories=("all",), subresources=("status",)),
    _r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",)),
    _r("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",),
       subresources=("status",)),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles", has_spec=False),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", has_spec=False),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, has_spec=False),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False,
       has_spec=False),
    _r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",),
       subresources=("status",)),
    _r("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, short_names=("sc",),
       has_spec=False),
    _r("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False,
       verbs=("create",)),
]

BY_KEY: dict[tuple[str, str], ResourceType] = {rt.key: rt for rt in RESOURCE_TYPES}
BY_KIND: dict[tuple[str, str], ResourceType] = {(rt.group, rt.kind): rt for rt in RESOURCE_TYPES}


def group_versions() -> dict[str, list[str]]:
    """Served API groups (excluding the core group) and their versions."""
    groups: dict[str, list[str]] = {}
    for rt in RESOURCE_TYPES:
        if rt.group and rt.version not in groups.setdefault(rt.group, []):
            groups[rt.group].append(rt.version)
    return groups


def lookup(group: str, plural: str) -> ResourceType | None:
    return BY_KEY.get((group, plural))


def for_api_version(api_version: str, kind: str) -> ResourceType | None:
    group = api_version.rpartition("/")[0]
    return BY_KIND.get((group, kind))
