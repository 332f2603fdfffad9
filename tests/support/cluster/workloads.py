"""The Deployment and ReplicaSet controllers."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json

from .api import Api
from .errors import ApiError
from .objects import DEPLOYMENTS, PODS, REPLICASETS, owned_by, owner_ref, pod_ready, set_condition
from .store import Obj, Store, now_iso

POD_TEMPLATE_HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


class WorkloadController:
    """Deployments roll through ReplicaSets; ReplicaSets keep their pods."""

    def __init__(self, store: Store, api: Api) -> None:
        self.store = store
        self.api = api

    def reconcile(self) -> None:
        self.deployments()
        self.replica_sets()

    def deployments(self) -> None:
        deployments, _ = self.store.list(DEPLOYMENTS)
        replica_sets, _ = self.store.list(REPLICASETS)
        for deployment in deployments:
            if deployment["metadata"].get("deletionTimestamp"):
                continue
            owned = [rs for rs in replica_sets if owned_by(rs, deployment["metadata"]["uid"])]
            self._sync_deployment(deployment, owned)

    def _sync_deployment(self, deployment: Obj, replica_sets: list[Obj]) -> None:
        """Roll to a ReplicaSet per pod template: scale the new one up, then the old ones down
        once the new one is ready (a simplified RollingUpdate)."""
        meta, spec = deployment["metadata"], deployment["spec"]
        template_hash = _template_hash(spec["template"])
        replicas = int(spec.get("replicas", 1))
        revisions = [_revision(rs) for rs in replica_sets]
        new_rs = next((rs for rs in replica_sets
                       if _same_template(rs["spec"]["template"], spec["template"])), None)
        if new_rs is None:
            new_rs = self._create_replica_set(deployment, template_hash, replicas,
                                              max(revisions, default=0) + 1)
        elif _revision(new_rs) < max(revisions, default=0):  # rolled back to an old template
            revision = str(max(revisions) + 1)

            def bump(o: Obj) -> None:
                o["metadata"].setdefault("annotations", {})[REVISION] = revision
            new_rs = self.store.mutate(REPLICASETS, meta["namespace"],
                                       new_rs["metadata"]["name"], bump) or new_rs
        old = [rs for rs in replica_sets if rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        self._scale_replica_set(new_rs, replicas)
        new_ready = int((new_rs.get("status") or {}).get("readyReplicas") or 0)
        if new_ready >= replicas:
            for rs in old:
                self._scale_replica_set(rs, 0)
        self._prune_history(old, int(spec.get("revisionHistoryLimit", 10)))
        revision = (new_rs["metadata"].get("annotations") or {}).get(REVISION, "1")
        if (meta.get("annotations") or {}).get(REVISION) != revision:
            def annotate(o: Obj) -> None:
                o["metadata"].setdefault("annotations", {})[REVISION] = revision
            self.store.mutate(DEPLOYMENTS, meta["namespace"], meta["name"], annotate)
        self._deployment_status(deployment, new_rs, old, replicas)

    def _deployment_status(self, deployment: Obj, new_rs: Obj, old: list[Obj],
                           replicas: int) -> None:
        meta = deployment["metadata"]

        def count(rs: Obj, key: str) -> int:
            return int((rs.get("status") or {}).get(key) or 0)
        everything = [new_rs, *old]
        total = sum(count(rs, "replicas") for rs in everything)
        ready = sum(count(rs, "readyReplicas") for rs in everything)
        updated = count(new_rs, "replicas")
        stamp = now_iso()
        status = copy.deepcopy(deployment.get("status") or {})
        status.update({"observedGeneration": meta.get("generation", 1), "replicas": total,
                       "updatedReplicas": updated, "readyReplicas": ready,
                       "availableReplicas": ready, "unavailableReplicas": max(total - ready, 0)})
        for key in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                    "unavailableReplicas"):
            if not status[key]:
                status.pop(key)
        available = ready >= replicas
        set_condition(status, "Available", "True" if available else "False",
                       "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                       "Deployment has minimum availability." if available
                       else "Deployment does not have minimum availability.", stamp,
                       "lastUpdateTime")
        complete = count(new_rs, "readyReplicas") >= replicas and total == updated == replicas
        name = new_rs["metadata"]["name"]
        set_condition(status, "Progressing", "True",
                       "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                       f'ReplicaSet "{name}" ' + ("has successfully progressed." if complete
                                                  else "is progressing."), stamp,
                       "lastUpdateTime")

        def write(o: Obj) -> None:
            o["status"] = status
        self.store.mutate(DEPLOYMENTS, meta["namespace"], meta["name"], write,
                          subresource="status")

    def _create_replica_set(self, deployment: Obj, template_hash: str, replicas: int,
                            revision: int) -> Obj:
        meta = deployment["metadata"]
        template = copy.deepcopy(deployment["spec"]["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[POD_TEMPLATE_HASH] = \
            template_hash
        selector = copy.deepcopy(deployment["spec"]["selector"])
        selector.setdefault("matchLabels", {})[POD_TEMPLATE_HASH] = template_hash
        labels = dict(template["metadata"]["labels"])
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{meta['name']}-{template_hash}",
                           "namespace": meta["namespace"], "labels": labels,
                           "annotations": {REVISION: str(revision),
                                           "deployment.kubernetes.io/desired-replicas":
                                               str(replicas)},
                           "ownerReferences": [owner_ref(deployment)]},
              "spec": {"replicas": 0, "selector": selector, "template": template}}
        change_cause = (meta.get("annotations") or {}).get("kubernetes.io/change-cause")
        if change_cause:
            rs["metadata"]["annotations"]["kubernetes.io/change-cause"] = change_cause
        created = self.api.create(REPLICASETS, meta["namespace"], rs)
        self.api.record_event(deployment, "ScalingReplicaSet",
                              f"Scaled up replica set {created['metadata']['name']} to "
                              f"{replicas}")
        return created

    def _scale_replica_set(self, rs: Obj, replicas: int) -> None:
        if rs["spec"].get("replicas") == replicas:
            return

        def scale(o: Obj) -> None:
            o["spec"]["replicas"] = replicas
        self.store.mutate(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"],
                          scale)

    def _prune_history(self, old: list[Obj], limit: int) -> None:
        idle = sorted((rs for rs in old if not rs["spec"].get("replicas")
                       and not (rs.get("status") or {}).get("replicas")), key=_revision)
        for rs in idle[: max(len(idle) - limit, 0)]:
            with contextlib.suppress(ApiError):
                self.api.delete(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"],
                                {"propagationPolicy": "Background"})

    def replica_sets(self) -> None:
        replica_sets, _ = self.store.list(REPLICASETS)
        pods, _ = self.store.list(PODS)
        for rs in replica_sets:
            if rs["metadata"].get("deletionTimestamp"):
                continue
            owned = [p for p in pods if owned_by(p, rs["metadata"]["uid"])]
            self._sync_replica_set(rs, owned)

    def _sync_replica_set(self, rs: Obj, pods: list[Obj]) -> None:
        meta = rs["metadata"]
        replicas = int(rs["spec"].get("replicas", 1))
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        for pod in [p for p in live if (p.get("status") or {}).get("phase")
                    in ("Failed", "Succeeded")]:
            with contextlib.suppress(ApiError):
                self.api.delete(PODS, meta["namespace"], pod["metadata"]["name"])
            live.remove(pod)
        for _ in range(replicas - len(live)):
            self._create_replica_set_pod(rs)
        if len(live) > replicas:
            victims = sorted(live, key=lambda p: (pod_ready(p),
                                                  p["metadata"]["creationTimestamp"]))
            for pod in victims[: len(live) - replicas]:
                with contextlib.suppress(ApiError):
                    self.api.delete(PODS, meta["namespace"], pod["metadata"]["name"])
                live.remove(pod)
        ready = sum(1 for p in live if pod_ready(p))
        status = {"replicas": len(live), "fullyLabeledReplicas": len(live),
                  "readyReplicas": ready, "availableReplicas": ready,
                  "observedGeneration": meta.get("generation", 1)}
        status = {k: v for k, v in status.items() if v or k in ("replicas",
                                                                "observedGeneration")}

        def write(o: Obj) -> None:
            o["status"] = status
        self.store.mutate(REPLICASETS, meta["namespace"], meta["name"], write,
                          subresource="status")

    def _create_replica_set_pod(self, rs: Obj) -> None:
        meta = rs["metadata"]
        template = copy.deepcopy(rs["spec"]["template"])
        pod_meta = template.setdefault("metadata", {})
        pod_meta.update({"generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                         "ownerReferences": [owner_ref(rs)]})
        pod_meta.pop("name", None)
        self.api.create(PODS, meta["namespace"], {"apiVersion": "v1", "kind": "Pod",
                                                  "metadata": pod_meta,
                                                  "spec": template.get("spec") or {}})


def _template_hash(template: Obj) -> str:
    """Like the deployment controller's pod-template-hash (stable for an unchanged template)."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"  # the "safe" characters Kubernetes uses
    number = int(digest[:16], 16)
    return "".join(alphabet[(number >> (5 * i)) % len(alphabet)] for i in range(10))


def _same_template(rs_template: Obj, template: Obj) -> bool:
    """Equal ignoring the pod-template-hash label (how the controller finds the new RS)."""
    def normal(t: Obj) -> str:
        t = copy.deepcopy(t)
        meta = t.setdefault("metadata", {})
        labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != POD_TEMPLATE_HASH}
        meta["labels"] = labels
        meta = {k: v for k, v in meta.items() if v not in (None, {}, [])}
        t["metadata"] = meta
        return json.dumps(t, sort_keys=True)
    return normal(rs_template) == normal(template)


def _revision(obj: Obj) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0

