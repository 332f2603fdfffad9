"""Controllers: namespaces, garbage collection, jobs, deployments, volumes, token secrets."""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import shutil
import threading
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .api import FOREGROUND, Api
from .errors import ApiError
from .rbac import Tokens
from .resources import RESOURCE_TYPES, ResourceType, lookup
from .scheduler import Scheduler
from .store import Event, Obj, Store, now_iso
from .volumes import quantity_bytes

NS = lookup("", "namespaces")
PODS = lookup("", "pods")
SAS = lookup("", "serviceaccounts")
SECRETS = lookup("", "secrets")
PVS = lookup("", "persistentvolumes")
PVCS = lookup("", "persistentvolumeclaims")
SCS = lookup("storage.k8s.io", "storageclasses")
JOBS = lookup("batch", "jobs")
DEPLOYMENTS = lookup("apps", "deployments")
REPLICASETS = lookup("apps", "replicasets")
EVENTS = lookup("", "events")
assert NS and PODS and SAS and SECRETS and PVS and PVCS and SCS and JOBS and DEPLOYMENTS
assert REPLICASETS
JOB_TRACKING = "batch.kubernetes.io/job-tracking"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
POD_TEMPLATE_HASH = "pod-template-hash"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
REVISION = "deployment.kubernetes.io/revision"


def _seconds_since(stamp: str | None) -> float:
    if not stamp:
        return 0.0
    then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (datetime.now(UTC) - then).total_seconds()


def _owned_by(obj: Obj, uid: str) -> bool:
    return any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])


def _owner_ref(owner: Obj) -> Obj:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


class ControllerManager:
    """Runs every reconciler in one thread, woken by store changes (and a short tick for time)."""

    def __init__(self, store: Store, api: Api, tokens: Tokens, state_dir: Path,
                 class_modes: dict[str, list[str]]) -> None:
        self.store = store
        self.api = api
        self.tokens = tokens
        self.state_dir = state_dir
        self.class_modes = class_modes
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._counted: dict[str, set[str]] = {}  # job uid -> pod uids already counted
        self._reported: set[tuple[str, str]] = set()
        self.scheduler = Scheduler(store, api)
        self._thread = threading.Thread(target=self._loop, name="controllers", daemon=True)
        store.add_listener(self._on_event)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _on_event(self, event: Event) -> None:
        if event.rt is not EVENTS:
            self._wake.set()

    def _loop(self) -> None:
        reconcilers = [self.namespaces, self.service_account_tokens, self.garbage_collect,
                       self.jobs, self.deployments, self.replica_sets, self.volumes,
                       self.scheduler.schedule]
        while not self._stopping.is_set():
            self._wake.wait(0.25)
            self._wake.clear()
            for reconcile in reconcilers:
                if self._stopping.is_set():
                    return
                try:
                    reconcile()
                except ApiError as exc:
                    if exc.code not in (404, 409):
                        traceback.print_exc()
                    self._wake.set()
                except Exception:  # noqa: BLE001 - one failing reconciler must not stop others
                    traceback.print_exc()

    # ---- namespaces and service accounts -------------------------------------------------
    def namespaces(self) -> None:
        namespaces, _ = self.store.list(NS)
        for ns in namespaces:
            name = ns["metadata"]["name"]
            if not ns["metadata"].get("deletionTimestamp"):
                if self.store.find(SAS, name, "default") is None:
                    with contextlib.suppress(ApiError):
                        self.store.create(SAS, {"metadata": {"name": "default",
                                                             "namespace": name}})
                continue
            if (ns.get("status") or {}).get("phase") != "Terminating":
                def terminating(o: Obj) -> None:
                    o["status"] = {"phase": "Terminating"}
                self.store.mutate(NS, "", name, terminating, subresource="status")
            remaining = 0
            for rt in RESOURCE_TYPES:
                if not rt.namespaced or "delete" not in rt.verbs:
                    continue
                items, _ = self.store.list(rt, name)
                remaining += len(items)
                for item in items:
                    if not item["metadata"].get("deletionTimestamp"):
                        with contextlib.suppress(ApiError):
                            self.api.delete(rt, name, item["metadata"]["name"],
                                            {"propagationPolicy": "Background"})
            if remaining == 0:
                with contextlib.suppress(ApiError):
                    self.store.remove(NS, "", name)

    def service_account_tokens(self) -> None:
        secrets, _ = self.store.list(
            SECRETS, "", lambda s: s.get("type") == "kubernetes.io/service-account-token"
            and not (s.get("data") or {}).get("token"))
        for secret in secrets:
            meta = secret["metadata"]
            sa_name = (meta.get("annotations") or {}).get("kubernetes.io/service-account.name")
            if not sa_name or self.store.find(SAS, meta["namespace"], sa_name) is None:
                continue
            token = self.tokens.mint(meta["namespace"], sa_name)

            def fill(s: Obj, t: str = token, ns: str = meta["namespace"]) -> None:
                s.setdefault("data", {}).update({
                    "token": base64.b64encode(t.encode()).decode(),
                    "namespace": base64.b64encode(ns.encode()).decode(),
                    "ca.crt": ""})
            self.store.mutate(SECRETS, meta["namespace"], meta["name"], fill)

    # ---- garbage collection --------------------------------------------------------------
    def garbage_collect(self) -> None:
        """Delete dependents whose owners are gone; finish foreground deletions."""
        live_uids: set[str] = set()
        everything: list[tuple[ResourceType, Obj]] = []
        for rt in RESOURCE_TYPES:
            if rt.kind in ("Event", "SelfSubjectAccessReview"):
                continue
            items, _ = self.store.list(rt)
            for item in items:
                everything.append((rt, item))
                live_uids.add(item["metadata"]["uid"])
        foreground = {item["metadata"]["uid"] for _, item in everything
                      if FOREGROUND in (item["metadata"].get("finalizers") or [])
                      and item["metadata"].get("deletionTimestamp")}
        dependents_of: dict[str, int] = {}
        for rt, item in everything:
            meta = item["metadata"]
            refs = meta.get("ownerReferences") or []
            if not refs:
                continue
            for ref in refs:
                dependents_of[ref.get("uid", "")] = dependents_of.get(ref.get("uid", ""), 0) + 1
            owners_gone = all(ref.get("uid") not in live_uids for ref in refs)
            owner_foreground = any(ref.get("uid") in foreground for ref in refs)
            if (owners_gone or owner_foreground) and not meta.get("deletionTimestamp"):
                policy = "Foreground" if owner_foreground else "Background"
                with contextlib.suppress(ApiError):
                    self.api.delete(rt, meta.get("namespace", ""), meta["name"],
                                    {"propagationPolicy": policy})
        for rt, item in everything:
            meta = item["metadata"]
            if meta["uid"] in foreground and not dependents_of.get(meta["uid"]):
                def drop(o: Obj) -> None:
                    o["metadata"]["finalizers"] = [f for f in o["metadata"].get("finalizers", [])
                                                   if f != FOREGROUND]
                self.store.mutate(rt, meta.get("namespace", ""), meta["name"], drop)

    # ---- jobs ----------------------------------------------------------------------------
    def jobs(self) -> None:
        jobs, _ = self.store.list(JOBS)
        pods, _ = self.store.list(PODS)
        for job in jobs:
            owned = [p for p in pods if _owned_by(p, job["metadata"]["uid"])]
            self._sync_job(job, owned)
        job_uids = {j["metadata"]["uid"] for j in jobs}
        orphans = [p for p in pods if JOB_TRACKING in (p["metadata"].get("finalizers") or [])
                   and not any(_owned_by(p, uid) for uid in job_uids)]
        self._release_pods(orphans, delete_active=True)

    def _sync_job(self, job: Obj, pods: list[Obj]) -> None:
        meta, spec = job["metadata"], job["spec"]
        status = copy.deepcopy(job.get("status") or {})
        uid = meta["uid"]
        counted = self._counted.setdefault(uid, set())
        finished = _finished_condition(status)
        if finished:
            self._release_pods(pods, delete_active=True)
            ttl = spec.get("ttlSecondsAfterFinished")
            done_at = status.get("completionTime") or finished.get("lastTransitionTime")
            if ttl is not None and not meta.get("deletionTimestamp") and \
                    _seconds_since(done_at) >= int(ttl):
                self.api.delete(JOBS, meta["namespace"], meta["name"],
                                {"propagationPolicy": "Background"})
            return
        if meta.get("deletionTimestamp"):
            self._release_pods(pods, delete_active=False)
            return
        stamp = now_iso()
        fail_reason: tuple[str, str] | None = None
        for pod in pods:
            phase = (pod.get("status") or {}).get("phase")
            pod_uid = pod["metadata"]["uid"]
            if phase not in ("Succeeded", "Failed") or pod_uid in counted:
                continue
            counted.add(pod_uid)
            if phase == "Succeeded":
                status["succeeded"] = status.get("succeeded", 0) + 1
                continue
            action, rule_index = _pod_failure_action(spec.get("podFailurePolicy"), pod)
            if action == "Ignore":
                continue
            status["failed"] = status.get("failed", 0) + 1
            if action == "FailJob":
                container = _failed_container(pod)
                fail_reason = ("PodFailurePolicy",
                               f"Container {container} for pod {pod['metadata']['namespace']}/"
                               f"{pod['metadata']['name']} failed with exit code "
                               f"{_exit_code(pod, container)} matching FailJob rule at index "
                               f"{rule_index}")
        self._release_pods(pods, delete_active=False)
        active = [p for p in pods if (p.get("status") or {}).get("phase")
                  not in ("Succeeded", "Failed") and not p["metadata"].get("deletionTimestamp")]
        if spec.get("suspend"):
            for pod in active:
                with contextlib.suppress(ApiError):
                    self.api.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
            status.pop("active", None)
            _set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", stamp)
            self._write_job_status(job, status)
            return
        if any(c["type"] == "Suspended" and c["status"] == "True"
               for c in status.get("conditions") or []):
            _set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", stamp)
            status["startTime"] = stamp  # a resumed job's deadline counts from now
        status.setdefault("startTime", stamp)
        restarts = sum(cs.get("restartCount", 0) for p in pods
                       for cs in (p.get("status") or {}).get("containerStatuses") or [])
        completions = int(spec.get("completions") or 1)
        deadline = spec.get("activeDeadlineSeconds")
        if fail_reason is None and status.get("failed", 0) + restarts > int(
                spec.get("backoffLimit", 6)):
            fail_reason = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
        if fail_reason is None and deadline is not None and \
                _seconds_since(status["startTime"]) >= int(deadline):
            fail_reason = ("DeadlineExceeded", "Job was active longer than specified deadline")
        if fail_reason:
            for pod in active:
                with contextlib.suppress(ApiError):
                    self.api.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
            _set_condition(status, "FailureTarget", "True", *fail_reason, stamp)
            _set_condition(status, "Failed", "True", *fail_reason, stamp)
            status["active"] = 0
            self.api.record_event(job, fail_reason[0], fail_reason[1], "Warning")
        elif status.get("succeeded", 0) >= completions:
            _set_condition(status, "SuccessCriteriaMet", "True", "CompletionsReached",
                           "Reached expected number of succeeded pods", stamp)
            _set_condition(status, "Complete", "True", "CompletionsReached",
                           "Reached expected number of succeeded pods", stamp)
            status["completionTime"] = stamp
            status["active"] = 0
            self.api.record_event(job, "Completed", "Job completed")
        else:
            wanted = min(int(spec.get("parallelism") or 1),
                         completions - status.get("succeeded", 0))
            for _ in range(wanted - len(active)):
                self._create_job_pod(job)
            status["active"] = max(wanted, len(active))
        status["ready"] = sum(1 for p in active if _pod_ready(p))
        status["terminating"] = sum(1 for p in pods if p["metadata"].get("deletionTimestamp")
                                    and (p.get("status") or {}).get("phase")
                                    not in ("Succeeded", "Failed"))
        status.setdefault("uncountedTerminatedPods", {})
        if not status.get("active"):
            status.pop("active", None)  # omitted when zero, as the real API does
        self._write_job_status(job, status)

    def _write_job_status(self, job: Obj, status: Obj) -> None:
        def write(o: Obj) -> None:
            o["status"] = status
        self.store.mutate(JOBS, job["metadata"]["namespace"], job["metadata"]["name"], write,
                          subresource="status")

    def _release_pods(self, pods: list[Obj], delete_active: bool) -> None:
        """Drop the job-tracking finalizer of finished pods (the job has counted them)."""
        for pod in pods:
            meta = pod["metadata"]
            terminal = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if delete_active and not terminal and not meta.get("deletionTimestamp"):
                with contextlib.suppress(ApiError):
                    self.api.delete(PODS, meta["namespace"], meta["name"])
            if JOB_TRACKING in (meta.get("finalizers") or []) and (
                    terminal or (meta.get("deletionTimestamp") and delete_active)):
                def drop(o: Obj) -> None:
                    o["metadata"]["finalizers"] = [
                        f for f in o["metadata"].get("finalizers") or [] if f != JOB_TRACKING]
                self.store.mutate(PODS, meta["namespace"], meta["name"], drop)

    def _create_job_pod(self, job: Obj) -> None:
        meta = job["metadata"]
        template = copy.deepcopy(job["spec"]["template"])
        pod_meta = template.setdefault("metadata", {})
        labels = pod_meta.setdefault("labels", {})
        labels.update({"batch.kubernetes.io/controller-uid": meta["uid"],
                       "batch.kubernetes.io/job-name": meta["name"],
                       "controller-uid": meta["uid"], "job-name": meta["name"]})
        pod_meta.update({"generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                         "ownerReferences": [_owner_ref(job)], "finalizers": [JOB_TRACKING]})
        pod_meta.pop("name", None)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta,
               "spec": template.get("spec") or {}}
        created = self.api.create(PODS, meta["namespace"], pod)
        self.api.record_event(job, "SuccessfulCreate",
                              f"Created pod: {created['metadata']['name']}")

    # ---- deployments and replica sets ----------------------------------------------------
    def deployments(self) -> None:
        deployments, _ = self.store.list(DEPLOYMENTS)
        replica_sets, _ = self.store.list(REPLICASETS)
        for deployment in deployments:
            if deployment["metadata"].get("deletionTimestamp"):
                continue
            owned = [rs for rs in replica_sets if _owned_by(rs, deployment["metadata"]["uid"])]
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
        _set_condition(status, "Available", "True" if available else "False",
                       "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                       "Deployment has minimum availability." if available
                       else "Deployment does not have minimum availability.", stamp,
                       "lastUpdateTime")
        complete = count(new_rs, "readyReplicas") >= replicas and total == updated == replicas
        name = new_rs["metadata"]["name"]
        _set_condition(status, "Progressing", "True",
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
                           "ownerReferences": [_owner_ref(deployment)]},
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
            owned = [p for p in pods if _owned_by(p, rs["metadata"]["uid"])]
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
            victims = sorted(live, key=lambda p: (_pod_ready(p),
                                                  p["metadata"]["creationTimestamp"]))
            for pod in victims[: len(live) - replicas]:
                with contextlib.suppress(ApiError):
                    self.api.delete(PODS, meta["namespace"], pod["metadata"]["name"])
                live.remove(pod)
        ready = sum(1 for p in live if _pod_ready(p))
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
                         "ownerReferences": [_owner_ref(rs)]})
        pod_meta.pop("name", None)
        self.api.create(PODS, meta["namespace"], {"apiVersion": "v1", "kind": "Pod",
                                                  "metadata": pod_meta,
                                                  "spec": template.get("spec") or {}})

    # ---- persistent volumes --------------------------------------------------------------
    def volumes(self) -> None:
        claims, _ = self.store.list(PVCS)
        volumes, _ = self.store.list(PVS)
        self._release_protection(claims, volumes)
        claims, _ = self.store.list(PVCS)
        volumes, _ = self.store.list(PVS)
        claim_uids = {c["metadata"]["uid"] for c in claims}
        for pv in volumes:
            self._reclaim(pv, claim_uids)
        for claim in claims:
            if (claim.get("status") or {}).get("phase") == "Bound" or \
                    claim["metadata"].get("deletionTimestamp"):
                continue
            try:
                self._bind_claim(claim)
            except _Unbindable as exc:
                key = (claim["metadata"]["uid"], str(exc))
                if key not in self._reported:
                    self._reported.add(key)
                    self.api.record_event(claim, exc.reason, str(exc), "Warning")

    def _release_protection(self, claims: list[Obj], volumes: list[Obj]) -> None:
        """Storage-object-in-use protection: a deleted claim stays Terminating while a pod
        uses it; a deleted volume while a claim is bound to it."""
        pods, _ = self.store.list(PODS)
        in_use = {(p["metadata"]["namespace"], v["persistentVolumeClaim"]["claimName"])
                  for p in pods if (p.get("status") or {}).get("phase")
                  not in ("Succeeded", "Failed")
                  for v in p["spec"].get("volumes") or [] if v.get("persistentVolumeClaim")}
        for claim in claims:
            meta = claim["metadata"]
            if meta.get("deletionTimestamp") and PVC_PROTECTION in (meta.get("finalizers") or []) \
                    and (meta["namespace"], meta["name"]) not in in_use:
                self._drop_finalizer(PVCS, meta["namespace"], meta["name"], PVC_PROTECTION)
        live_claims = {c["metadata"]["uid"] for c in claims
                       if not c["metadata"].get("deletionTimestamp")}
        for pv in volumes:
            meta = pv["metadata"]
            bound_to = ((pv["spec"].get("claimRef") or {}).get("uid"))
            if meta.get("deletionTimestamp") and PV_PROTECTION in (meta.get("finalizers") or []) \
                    and bound_to not in live_claims:
                self._drop_finalizer(PVS, "", meta["name"], PV_PROTECTION)

    def _drop_finalizer(self, rt: ResourceType, namespace: str, name: str,
                        finalizer: str) -> None:
        def drop(o: Obj) -> None:
            o["metadata"]["finalizers"] = [f for f in o["metadata"].get("finalizers") or []
                                           if f != finalizer]
        self.store.mutate(rt, namespace, name, drop)

    def _reclaim(self, pv: Obj, claim_uids: set[str]) -> None:
        ref = pv["spec"].get("claimRef")
        phase = (pv.get("status") or {}).get("phase")
        if not ref or not ref.get("uid") or ref["uid"] in claim_uids or phase == "Released":
            return
        if pv["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
            if (pv["metadata"].get("annotations") or {}).get(PROVISIONED_BY):
                path = (pv["spec"].get("hostPath") or {}).get("path")
                if path and Path(path).is_relative_to(self.state_dir):
                    shutil.rmtree(path, ignore_errors=True)
            with contextlib.suppress(ApiError):
                self._drop_finalizer(PVS, "", pv["metadata"]["name"], PV_PROTECTION)
                self.store.remove(PVS, "", pv["metadata"]["name"])
            return

        def release(o: Obj) -> None:
            o.setdefault("status", {})["phase"] = "Released"
        self.store.mutate(PVS, "", pv["metadata"]["name"], release, subresource="status")

    def _bind_claim(self, claim: Obj) -> None:
        spec = claim["spec"]
        wanted_modes = set(spec.get("accessModes") or [])
        wanted_size = _size(((spec.get("resources") or {}).get("requests") or {}).get("storage"))
        class_name = spec.get("storageClassName") or ""
        volumes, _ = self.store.list(PVS)
        if spec.get("volumeName"):
            pv = next((v for v in volumes if v["metadata"]["name"] == spec["volumeName"]), None)
            if pv is None:
                raise _Unbindable("VolumeMismatch",
                                  f'volume "{spec["volumeName"]}" not found')
            problem = _mismatch(pv, claim, wanted_modes, wanted_size, class_name)
            if problem:
                raise _Unbindable("VolumeMismatch", problem)
            self._bind(pv, claim)
            return
        candidates = [v for v in volumes
                      if not _mismatch(v, claim, wanted_modes, wanted_size, class_name)]
        if candidates:
            candidates.sort(key=lambda v: _size(v["spec"]["capacity"]["storage"]))
            self._bind(candidates[0], claim)
            return
        storage_class = self.store.find(SCS, "", class_name) if class_name else None
        if storage_class is None:
            if class_name:
                raise _Unbindable("ProvisioningFailed",
                                  f'storageclass.storage.k8s.io "{class_name}" not found')
            raise _Unbindable("FailedBinding", "no persistent volumes available for this claim "
                                               "and no storage class is set")
        if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer" and \
                not self._claim_in_use(claim):
            raise _Unbindable("WaitForFirstConsumer",
                              "waiting for first consumer to be created before binding")
        supported = set(self.class_modes.get(class_name,
                                             ["ReadWriteOnce", "ReadWriteOncePod"]))
        unsupported = sorted(wanted_modes - supported)
        if unsupported:
            raise _Unbindable("ProvisioningFailed",
                              f"failed to provision volume with StorageClass \"{class_name}\": "
                              f"access mode(s) {unsupported} not supported (supported: "
                              f"{sorted(supported)})")
        self._bind(self._provision(claim, storage_class), claim)

    def _claim_in_use(self, claim: Obj) -> bool:
        pods, _ = self.store.list(PODS, claim["metadata"]["namespace"])
        return any((v.get("persistentVolumeClaim") or {}).get("claimName")
                   == claim["metadata"]["name"]
                   for p in pods for v in p["spec"].get("volumes") or [])

    def _provision(self, claim: Obj, storage_class: Obj) -> Obj:
        name = f"pvc-{claim['metadata']['uid']}"
        path = self.state_dir / "volumes" / name
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o777)
        pv = {"apiVersion": "v1", "kind": "PersistentVolume",
              "metadata": {"name": name,
                           "annotations": {PROVISIONED_BY: storage_class.get("provisioner", "")}},
              "spec": {"capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
                       "accessModes": claim["spec"]["accessModes"],
                       "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy",
                                                                          "Delete"),
                       "storageClassName": storage_class["metadata"]["name"],
                       "volumeMode": "Filesystem",
                       "hostPath": {"path": str(path)},
                       "claimRef": _claim_ref(claim)}}
        created = self.api.create(PVS, "", pv)
        self.api.record_event(claim, "ProvisioningSucceeded",
                              f"Successfully provisioned volume {name}")
        return created

    def _bind(self, pv: Obj, claim: Obj) -> None:
        cmeta = claim["metadata"]

        def bind_pv(o: Obj) -> None:
            o["spec"]["claimRef"] = _claim_ref(claim)

        def pv_bound(o: Obj) -> None:
            o.setdefault("status", {})["phase"] = "Bound"

        def bind_claim(o: Obj) -> None:
            o["spec"]["volumeName"] = pv["metadata"]["name"]
            annotations = o["metadata"].setdefault("annotations", {})
            annotations["pv.kubernetes.io/bind-completed"] = "yes"
            if not claim["spec"].get("volumeName"):
                annotations["pv.kubernetes.io/bound-by-controller"] = "yes"

        def claim_bound(o: Obj) -> None:
            o["status"] = {"phase": "Bound", "accessModes": pv["spec"]["accessModes"],
                           "capacity": dict(pv["spec"]["capacity"])}

        self.store.mutate(PVS, "", pv["metadata"]["name"], bind_pv)
        self.store.mutate(PVS, "", pv["metadata"]["name"], pv_bound, subresource="status")
        self.store.mutate(PVCS, cmeta["namespace"], cmeta["name"], bind_claim)
        self.store.mutate(PVCS, cmeta["namespace"], cmeta["name"], claim_bound,
                          subresource="status")


class _Unbindable(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


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


def _claim_ref(claim: Obj) -> Obj:
    meta = claim["metadata"]
    return {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": meta["namespace"],
            "name": meta["name"], "uid": meta["uid"],
            "resourceVersion": meta.get("resourceVersion", "")}


def _mismatch(pv: Obj, claim: Obj, modes: set[str], size: int, class_name: str) -> str | None:
    """Why `pv` cannot serve `claim`, or None when it can."""
    spec = pv["spec"]
    ref = spec.get("claimRef")
    cmeta = claim["metadata"]
    if ref and (ref.get("namespace") != cmeta["namespace"] or ref.get("name") != cmeta["name"]
                or (ref.get("uid") and ref["uid"] != cmeta["uid"])):
        return f'volume "{pv["metadata"]["name"]}" is already bound to a different claim'
    if (pv.get("status") or {}).get("phase") in ("Released", "Failed"):
        return f'volume "{pv["metadata"]["name"]}" is {pv["status"]["phase"]}'
    if (spec.get("storageClassName") or "") != class_name:
        return "storageClassName does not match"
    missing = modes - set(spec.get("accessModes") or [])
    if missing:
        return f"requested access modes {sorted(missing)} are not offered by the volume"
    if _size(spec.get("capacity", {}).get("storage")) < size:
        return "requested PV is too small"
    return None


def _size(text: Any) -> int:
    return quantity_bytes(text) or 0


def _pod_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _finished_condition(status: Obj) -> Obj | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond
    return None


def _set_condition(status: Obj, kind: str, value: str, reason: str, message: str,
                   stamp: str, time_field: str = "lastProbeTime") -> None:
    """Set a condition; `time_field` is the kind's second timestamp (jobs: lastProbeTime,
    deployments: lastUpdateTime, updated whenever reason or message change)."""
    conditions = status.setdefault("conditions", [])
    for cond in conditions:
        if cond["type"] == kind:
            if cond.get("status") != value:
                cond["lastTransitionTime"] = stamp
            if (cond.get("reason"), cond.get("message")) != (reason, message):
                cond[time_field] = stamp
            cond.update(status=value, reason=reason, message=message)
            return
    conditions.append({"type": kind, "status": value, "reason": reason, "message": message,
                       time_field: stamp, "lastTransitionTime": stamp})


def _exit_codes(pod: Obj) -> list[tuple[str, int]]:
    codes = []
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        term = (cs.get("state") or {}).get("terminated")
        if term:
            codes.append((cs["name"], int(term.get("exitCode", 0))))
    return codes


def _failed_container(pod: Obj) -> str:
    return next((name for name, code in _exit_codes(pod) if code != 0), "")


def _exit_code(pod: Obj, container: str) -> int:
    return next((code for name, code in _exit_codes(pod) if name == container), 0)


def _pod_failure_action(policy: Obj | None, pod: Obj) -> tuple[str, int]:
    """The podFailurePolicy action for a failed pod ("Count" when no rule matches)."""
    for index, rule in enumerate((policy or {}).get("rules") or []):
        on_codes = rule.get("onExitCodes")
        if on_codes:
            values = set(on_codes.get("values") or [])
            for name, code in _exit_codes(pod):
                if on_codes.get("containerName") and on_codes["containerName"] != name:
                    continue
                if on_codes.get("operator") == "In" and code in values:
                    return rule["action"], index
                if on_codes.get("operator") == "NotIn" and code != 0 and code not in values:
                    return rule["action"], index
        for pattern in rule.get("onPodConditions") or []:
            for cond in (pod.get("status") or {}).get("conditions") or []:
                if cond.get("type") == pattern.get("type") and \
                        cond.get("status") == pattern.get("status", "True"):
                    return rule["action"], index
    return "Count", -1



