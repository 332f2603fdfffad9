"""The API's semantics, independent of HTTP: admission, writes, patches and deletion."""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from . import admission, fieldmanager, fieldschema, mesh, namespacepolicy, patching
from .errors import ApiError
from .resources import RESOURCE_TYPES, ResourceType, for_api_version, lookup
from .store import Obj, Store, now_iso

NS = lookup("", "namespaces")
PODS = lookup("", "pods")
SC = lookup("storage.k8s.io", "storageclasses")
assert NS and PODS and SC

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply",
}
# Jobs orphan their pods by default (batch/v1 legacy); everything else deletes in background.
ORPHAN_BY_DEFAULT = {("batch", "jobs")}
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


class Api:
    """Writes go through here (from HTTP and from controllers) so defaults and rules hold."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._request = threading.local()
        # A mesh's sidecar injector, if installed (mesh.MODES): "regular" or "native".
        self.sidecar_injection: str | None = None
        # Further mutating webhooks a test or bench installs: each may rewrite a new pod.
        self.pod_webhooks: list[Callable[[Obj], None]] = []

    @contextlib.contextmanager
    def client_request(self, field_validation: str, field_manager: str = "",
                       user_agent: str = "", force: bool = False) -> Iterator[list[str]]:
        """Writes in this block come from an API client: unknown fields are pruned with a
        warning (Warn, the default), silently (Ignore) or rejected with 400 (Strict), and
        field management records them under ``field_manager`` (else the User-Agent's name).
        Yields the list that collects the warnings."""
        warnings: list[str] = []
        self._request.validation = field_validation or "Warn"
        self._request.warnings = warnings
        self._request.field_manager = field_manager
        self._request.manager = field_manager or fieldmanager.manager_from_user_agent(user_agent)
        self._request.force = force
        try:
            yield warnings
        finally:
            self._request.validation = None
            self._request.manager = None

    def _record_managers(self, rt: ResourceType, old: Obj | None, new: Obj,
                         managed: list[Obj] | None) -> None:
        """Set ``new``'s managedFields: those an apply computed (``managed``), else the
        client's Update entry. Writes that are not a client's (controllers, the node agent)
        keep what they carry: their field management is not modelled."""
        manager = getattr(self._request, "manager", None)
        if managed is not None:
            new["metadata"]["managedFields"] = managed
        elif manager is not None:
            new["metadata"]["managedFields"] = fieldmanager.update(old, new, manager,
                                                                   rt.group_version)

    def _check_fields(self, rt: ResourceType, obj: Obj) -> None:
        mode = getattr(self._request, "validation", None)
        if mode is None:
            return
        unknown = fieldschema.unknown_fields(rt, obj)
        if unknown and mode == "Strict":
            listed = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise ApiError(400, f'{rt.kind} in version "{rt.version}" cannot be handled as a '
                                f"{rt.kind}: strict decoding error: {listed}", "BadRequest")
        if mode == "Warn":
            self._request.warnings.extend(f'unknown field "{u}"' for u in unknown)

    # ---- create / update -----------------------------------------------------------------
    def default_storage_class(self) -> str | None:
        classes, _ = self.store.list(SC)
        for sc in classes:
            annotations = sc["metadata"].get("annotations") or {}
            if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
                return sc["metadata"]["name"]
        return None

    def create(self, rt: ResourceType, namespace: str, obj: Obj, dry_run: bool = False,
               managed: list[Obj] | None = None) -> Obj:
        """Create; ``managed`` is the managedFields an apply computed, else the writer's
        Update entry is recorded."""
        if not isinstance(obj, dict):
            raise ApiError(400, "the request body must be an object")
        self._check_kind(rt, obj)
        self._check_fields(rt, obj)
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise ApiError(400, "the namespace of the provided object does not match the "
                                    "namespace sent on the request")
            meta["namespace"] = namespace or meta.get("namespace") or "default"
            admission.check_namespace_usable(self.store.find(NS, "", meta["namespace"]),
                                             meta["namespace"])
        uid = str(uuid.uuid4())
        obj = admission.prepare_create(rt, obj, self.default_storage_class(), uid)
        if rt.kind == "Pod":
            # Mutating webhooks (the mesh's injector) run before validating admission.
            if self.sidecar_injection and mesh.wants_injection(
                    self.store.find(NS, "", obj["metadata"]["namespace"]), obj):
                mesh.inject(obj, self.sidecar_injection)
            for webhook in self.pod_webhooks:
                webhook(obj)
            namespacepolicy.admit_pod(self.store, obj)
        self._record_managers(rt, None, obj, managed)
        if dry_run:
            return obj
        return self.store.create(rt, obj, uid)

    def update(self, rt: ResourceType, namespace: str, name: str, obj: Obj,
               subresource: str = "", dry_run: bool = False,
               managed: list[Obj] | None = None) -> Obj:
        if not isinstance(obj, dict):
            raise ApiError(400, "the request body must be an object")
        self._check_kind(rt, obj)
        self._check_fields(rt, obj)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise ApiError(400, f'the name of the object ({meta["name"]}) does not match the name '
                                f"on the URL ({name})")
        meta["name"] = name
        if rt.namespaced:
            meta["namespace"] = namespace
        old = self.store.get(rt, namespace, name)
        if subresource != "status":
            obj = admission.prepare_update(rt, old, obj)
            self._record_managers(rt, old, obj, managed)
        if dry_run:
            return obj
        return self.store.update(rt, obj, subresource=subresource)

    def patch(self, rt: ResourceType, namespace: str, name: str, body: bytes, content_type: str,
              subresource: str = "", force: bool = False, dry_run: bool = False) -> Obj:
        kind = PATCH_TYPES.get(content_type.split(";")[0].strip())
        if kind is None:
            raise ApiError(415, f"the body of the request was in an unknown format - accepted "
                                f"media types include: {', '.join(PATCH_TYPES)}")
        try:
            patch = yaml.safe_load(body) if kind == "apply" else json.loads(body or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, f"error decoding patch: {exc}") from exc
        if kind == "apply":
            return self.apply(rt, namespace, name, patch, subresource, dry_run)
        for _ in range(10):
            current = self.store.get(rt, namespace, name)
            if kind == "json":
                patched = patching.json_patch(current, patch)
            elif kind == "merge":
                patched = patching.merge_patch(current, patch)
            else:
                patched = patching.strategic_merge(current, patch)
            if not isinstance(patched, dict):
                raise ApiError(422, "patch produced a non-object")
            sent_rv = (patch.get("metadata") or {}).get("resourceVersion") \
                if isinstance(patch, dict) else None
            if not sent_rv:
                patched.setdefault("metadata", {})["resourceVersion"] = \
                    current["metadata"]["resourceVersion"]
            try:
                return self.update(rt, namespace, name, patched, subresource, dry_run)
            except ApiError as exc:
                if exc.reason != "Conflict" or sent_rv:
                    raise
        raise ApiError(409, "too many conflicts applying the patch", "Conflict")

    def apply(self, rt: ResourceType, namespace: str, name: str, patch: Any,
              subresource: str = "", dry_run: bool = False) -> Obj:
        """Server-side apply with field management (``fieldmanager``); to a subresource,
        create-or-(strategic)merge without it."""
        if not isinstance(patch, dict):
            raise ApiError(400, "apply patch must be an object")
        if not patch.get("apiVersion") or not patch.get("kind"):
            raise ApiError(400, "apiVersion and kind must be set in an apply patch")
        meta = patch.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise ApiError(400, "the name of the object does not match the name on the URL")
        meta["name"] = name
        current = self.store.find(rt, namespace, name)
        if current is None and subresource:
            raise ApiError(404, f'{rt.plural} "{name}" not found')
        if not subresource:
            if rt.namespaced:
                meta.setdefault("namespace", namespace)
            result = fieldmanager.apply(current, patch,
                                        getattr(self._request, "field_manager", ""),
                                        bool(getattr(self._request, "force", False)),
                                        rt.group_version)
            managed = result["metadata"]["managedFields"]
            if current is None:
                return self.create(rt, namespace, result, dry_run, managed=managed)
            result["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return self.update(rt, namespace, name, result, "", dry_run, managed=managed)
        assert current is not None
        patched = patching.strategic_merge(current, patch)
        patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.update(rt, namespace, name, patched, subresource, dry_run)

    def _check_kind(self, rt: ResourceType, obj: Obj) -> None:
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind and api_version and for_api_version(api_version, kind) is not rt:
            raise ApiError(400, f"the API version in the data ({api_version}) does not match the "
                                f"expected API version ({rt.group_version})")

    # ---- deletion ------------------------------------------------------------------------
    def delete(self, rt: ResourceType, namespace: str, name: str,
               options: dict[str, Any] | None = None) -> Obj:
        """Delete with propagation (Orphan, Background, Foreground) and graceful pod shutdown."""
        options = options or {}
        obj = self.store.get(rt, namespace, name)
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
            raise ApiError(409, f"Precondition failed: UID in precondition: {pre['uid']}, UID in "
                                f"object meta: {obj['metadata']['uid']}", "Conflict")
        if pre.get("resourceVersion") and pre["resourceVersion"] != \
                obj["metadata"]["resourceVersion"]:
            raise ApiError(409, "Precondition failed: resourceVersion mismatch", "Conflict")
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] else "Background"
        if policy is None:
            policy = "Orphan" if rt.key in ORPHAN_BY_DEFAULT else "Background"
        if policy == "Orphan":
            self.orphan_dependents(obj)
        if rt.kind == "Namespace":
            return self.store.mark_deleting(rt, "", name)
        if policy == "Foreground":
            return self.store.mark_deleting(rt, namespace, name, finalizer=FOREGROUND)
        if rt.kind == "Pod" and self._needs_graceful_stop(obj, options):
            grace = options.get("gracePeriodSeconds")
            if grace is None:
                grace = obj["spec"].get("terminationGracePeriodSeconds", 30)
            return self.store.mark_deleting(rt, namespace, name, grace_seconds=int(grace))
        if obj["metadata"].get("finalizers"):
            return self.store.mark_deleting(rt, namespace, name)
        return self.store.remove(rt, namespace, name)

    @staticmethod
    def _needs_graceful_stop(pod: Obj, options: dict[str, Any]) -> bool:
        if options.get("gracePeriodSeconds") == 0:
            return False
        started = (pod.get("status") or {}).get("containerStatuses") or \
            (pod.get("status") or {}).get("initContainerStatuses")
        return bool(started) and pod["status"].get("phase") not in ("Succeeded", "Failed")

    def orphan_dependents(self, owner: Obj) -> None:
        """Drop ownerReferences to `owner` from every object that has one."""
        uid = owner["metadata"]["uid"]
        namespace = owner["metadata"].get("namespace", "")
        for rt in RESOURCE_TYPES:
            items, _ = self.store.list(rt, namespace if rt.namespaced else "")
            for item in items:
                refs = item["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    def drop(o: Obj, u: str = uid) -> None:
                        o["metadata"]["ownerReferences"] = [
                            r for r in o["metadata"].get("ownerReferences") or []
                            if r.get("uid") != u]
                    self.store.mutate(rt, item["metadata"].get("namespace", ""),
                                      item["metadata"]["name"], drop)

    def record_event(self, obj: Obj, reason: str, message: str, type_: str = "Normal") -> None:
        """Add a core/v1 Event about `obj` (as the controllers and kubelet do)."""
        events = lookup("", "events")
        assert events is not None
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        if self.store.find(NS, "", namespace) is None:
            return
        stamp = now_iso()
        event = {
            # named like the real recorder (<object>.<hex nanoseconds>) so names sort by time
            "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": namespace},
            "involvedObject": {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion"),
                               "name": meta["name"], "namespace": meta.get("namespace"),
                               "uid": meta.get("uid")},
            "reason": reason, "message": message, "type": type_, "count": 1,
            "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": "kubecall-test-cluster"},
        }
        try:
            self.store.create(events, copy.deepcopy(event))
        except ApiError:
            pass
