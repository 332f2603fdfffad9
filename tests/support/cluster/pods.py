"""One pod's life on the node: volumes, sandbox namespace, init containers, containers,
statuses, logs and the container environment."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.support.leftovers import SESSION_ENV, session_tag

from . import mountpoints
from .images import Image, PullError
from .resources import lookup
from .selection import field_value
from .store import Obj, now_iso
from .volumes import NotReady, Volume, quantity_bytes, resolve

if TYPE_CHECKING:
    from .node import NodeAgent

PODS = lookup("", "pods")
SECRETS = lookup("", "secrets")
CONFIGMAPS = lookup("", "configmaps")
assert PODS and SECRETS and CONFIGMAPS
SANDBOX = str(Path(__file__).with_name("sandbox.py"))
SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
# What the kubelet (containerd) puts on PATH when the image sets none.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PULL_REASONS = {"ErrImagePull", "ImagePullBackOff"}
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ConfigError(Exception):
    """The container cannot be configured (CreateContainerConfigError); retried."""


class _Run:
    """One run (instance) of a container."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.cgroup: Path | None = None
        self.error_file: Path | None = None
        self.started_at = ""
        self.killed = False


class PodWorker(threading.Thread):
    """Runs one pod: volumes, sandbox namespace, init containers, then containers."""

    def __init__(self, agent: NodeAgent, pod: Obj) -> None:
        super().__init__(name=f"pod-{pod['metadata']['name']}", daemon=True)
        self.agent = agent
        self.pod = pod
        self.namespace = pod["metadata"]["namespace"]
        self.name = pod["metadata"]["name"]
        self.uid = pod["metadata"]["uid"]
        self.dir = agent.state_dir / "pods" / self.uid
        self.stop_event = threading.Event()
        self.final = False
        self.grace = 30
        self.pause: subprocess.Popen[bytes] | None = None
        self.runs: dict[str, _Run] = {}
        self.statuses: dict[str, Obj] = {}
        self.init_done = False
        self.phase = "Pending"
        self.pod_reason: tuple[str, str] | None = None
        self.started = time.monotonic()
        self._kill_lock = threading.Lock()
        self.hosts_path = self.dir / "etc-hosts"

    # ---- control from outside ------------------------------------------------------------
    def request_stop(self, grace: int, final: bool = False) -> None:
        self.grace = min(grace, self.grace)
        self.final = self.final or final
        self.stop_event.set()

    def kill(self, container: str | None) -> None:
        with self._kill_lock:
            for name, run in self.runs.items():
                if (container is None or name == container) and run.proc and \
                        run.proc.poll() is None:
                    run.killed = True
                    _signal_group(run.proc, signal.SIGKILL)

    def refresh_hosts(self) -> None:
        """Rewrite the pod's hosts file in place (bind mounts keep seeing the same inode)."""
        text = self.agent.hosts_file(self.name, self.namespace)
        self.hosts_path.parent.mkdir(parents=True, exist_ok=True)
        with self.hosts_path.open("a+") as handle:
            handle.seek(0)
            if handle.read() == text:
                return
            handle.seek(0)
            handle.truncate()
            handle.write(text)

    # ---- the pod's life ------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - report a broken pod, not a silent thread death
            traceback.print_exc()
            self.phase = "Failed"
            self.pod_reason = ("NodeAgentError", f"node agent error: {exc}")
            with contextlib.suppress(Exception):
                self._publish()
        finally:
            self._terminate_all(0)
            if self.pause is not None:
                with contextlib.suppress(Exception):
                    self.pause.stdin.close()  # type: ignore[union-attr]
                    self.pause.wait(timeout=5)
            if self.stop_event.is_set() and not self.final:
                self._finalize_deletion()

    def _run(self) -> None:
        spec = self.pod["spec"]
        inits = spec.get("initContainers") or []
        mains = spec.get("containers") or []
        for c in inits:
            self.statuses[c["name"]] = self._status(c, {"waiting": {"reason": "PodInitializing"}})
        for c in mains:
            reason = "PodInitializing" if inits else "ContainerCreating"
            self.statuses[c["name"]] = self._status(c, {"waiting": {"reason": reason}})
        self._publish(start=True)
        volumes = self._wait_for_volumes()
        if volumes is None:
            return
        self._start_pause(volumes)
        for c in inits:
            if is_sidecar(c):
                # A native sidecar: started in init order, the next init container starts
                # once it runs; it runs beside the main containers (restarted if it exits).
                if not self._start(c, volumes):
                    return
                continue
            if not self._run_init(c, volumes):
                return
        self.init_done = True
        self._run_main(mains, volumes)

    def _wait_for_volumes(self) -> dict[str, Volume] | None:
        reported = ""
        while not self.stop_event.is_set():
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
                return resolve(self.pod, self.agent.store, self.agent.state_dir, self.dir,
                               self.agent.nfs_exports)
            except NotReady as exc:
                if str(exc) != reported:
                    reported = str(exc)
                    self.agent.api.record_event(self.pod, "FailedMount", reported, "Warning")
            self.stop_event.wait(0.2)
        return None

    def _start_pause(self, volumes: dict[str, Volume]) -> None:
        tmpfs = [{"path": str(v.source), "size": v.tmpfs_size}
                 for v in volumes.values() if v.tmpfs_size]
        spec_path = self.dir / "pause.json"
        spec_path.write_text(json.dumps({"tmpfs": tmpfs, "hostname": self.name[:63],
                                         "error_file": str(self.dir / "pause.err")}))
        self.pause = subprocess.Popen([sys.executable, SANDBOX, "pause", str(spec_path)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      start_new_session=True)
        assert self.pause.stdout is not None
        line = self.pause.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"pod sandbox failed: {(self.dir / 'pause.err').read_text()}")

    def _run_init(self, c: Obj, volumes: dict[str, Volume]) -> bool:
        policy = self.pod["spec"].get("restartPolicy", "Always")
        attempts = 0
        while not self.stop_event.is_set():
            if not self._start(c, volumes):
                return False
            code = self._wait_one(c["name"])
            if code is None:
                return False
            if code == 0:
                return True
            if policy == "Never":
                self.phase = "Failed"
                self._publish()
                return False
            attempts += 1
            self.stop_event.wait(min(self.agent.restart_backoff * 2 ** attempts, 2))
            self.statuses[c["name"]]["restartCount"] += 1
        return False

    def _run_main(self, mains: list[Obj], volumes: dict[str, Volume]) -> None:
        policy = self.pod["spec"].get("restartPolicy", "Always")
        sidecars = [c for c in self.pod["spec"].get("initContainers") or [] if is_sidecar(c)]
        for c in mains:
            if not self._start(c, volumes):
                return
        self._publish()
        restart_at: dict[str, float] = {}
        deadline = self.pod["spec"].get("activeDeadlineSeconds")
        while True:
            if self.stop_event.is_set():
                return
            if deadline is not None and time.monotonic() - self.started >= int(deadline):
                self._terminate_all(0)
                self.phase = "Failed"
                self.pod_reason = ("DeadlineExceeded", "Pod was active on the node longer than "
                                                       "the specified deadline")
                self._publish()
                return
            for c in mains + sidecars:
                name = c["name"]
                run = self.runs.get(name)
                if run and run.proc and run.proc.poll() is not None and \
                        "running" in self.statuses[name]["state"]:
                    code = self._finish(name)
                    if is_sidecar(c) or policy == "Always" or \
                            (policy == "OnFailure" and code != 0):
                        attempts = self.statuses[name]["restartCount"] + 1
                        restart_at[name] = time.monotonic() + min(
                            self.agent.restart_backoff * 2 ** attempts, 2)
                        self._set_state(name, {"waiting": {"reason": "CrashLoopBackOff"}},
                                        keep_last=True)
                if name in restart_at and time.monotonic() >= restart_at[name]:
                    del restart_at[name]
                    self.statuses[name]["restartCount"] += 1
                    if not self._start(c, volumes):
                        return
            if not any(n in restart_at for n in (c["name"] for c in mains)) and \
                    all("terminated" in self.statuses[c["name"]]["state"] for c in mains):
                # The main containers are done: sidecars are stopped now (SIGTERM, then
                # SIGKILL after the grace period), in reverse order, as the kubelet does;
                # their exit codes do not decide the phase.
                for c in reversed(sidecars):
                    restart_at.pop(c["name"], None)
                    self._terminate(c["name"], int(self.pod["spec"].get(
                        "terminationGracePeriodSeconds", 30)))
                codes = [self.statuses[c["name"]]["state"]["terminated"]["exitCode"]
                         for c in mains]
                self.phase = "Succeeded" if all(code == 0 for code in codes) else "Failed"
                self._publish()
                return
            self.stop_event.wait(0.05)

    # ---- containers ----------------------------------------------------------------------
    def _start(self, c: Obj, volumes: dict[str, Volume]) -> bool:
        """Start a container; on a config error wait (like the kubelet) until fixed or stopped."""
        name = c["name"]
        in_image = not self.agent.runs_on_host(c)
        image = self._pull(c) if in_image else None
        if in_image and image is None:
            return False  # stopped while the image could not be pulled
        while not self.stop_event.is_set():
            try:
                launch = self._launch_spec(c, volumes, image)
                break
            except ConfigError as exc:
                self._set_state(name, {"waiting": {"reason": "CreateContainerConfigError",
                                                   "message": str(exc)}})
                self.stop_event.wait(0.3)
        else:
            return False
        run = _Run()
        limit = quantity_bytes(((c.get("resources") or {}).get("limits") or {}).get("memory"))
        n = self.statuses[name]["restartCount"]
        # Every run gets a cgroup (when the host allows): it enforces the memory limit and
        # lets the agent kill processes that left the container's process group.
        run.cgroup = self.agent.cgroups.create(f"{session_tag()}{self.uid[:8]}-{name}-{n}", limit)
        launch["cgroup"] = str(run.cgroup) if run.cgroup else None
        run.error_file = self.dir / "run" / f"{name}-{n}.err"
        run.error_file.parent.mkdir(parents=True, exist_ok=True)
        run.error_file.unlink(missing_ok=True)
        launch["error_file"] = str(run.error_file)
        if image is not None:
            run_dir = self.dir / "run"
            launch.update(image_rootfs=str(image.rootfs),
                          image_root=str(run_dir / f"{name}-{n}.root"),
                          image_upper=str(run_dir / f"{name}-{n}.upper"))
        launch["pause_pid"] = self.pause.pid if self.pause else None
        spec_path = self.dir / "run" / f"{name}-{n}.json"
        spec_path.write_text(json.dumps(launch))
        log_path = self.dir / "logs" / f"{name}-{n}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.agent.logs.setdefault((self.uid, name), []).append(log_path)
        for mount in launch["mounts"] if image is None else []:  # in an image: in its overlay
            mountpoints.claim(id(self.agent), Path(mount["target"]))
        with log_path.open("wb") as log, self._kill_lock:
            run.proc = subprocess.Popen([sys.executable, SANDBOX, "run", str(spec_path)],
                                        stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        run.started_at = now_iso()
        self.runs[name] = run
        record = self.agent.api.record_event
        if image is None:
            record(self.pod, "Pulled", f'Container image "{c.get("image", "")}" recorded; the '
                                       "test cluster runs host tools for it and pulls no image")
        else:
            record(self.pod, "Pulled", f'Container image "{c.get("image", "")}" already present '
                                       "on machine")
        record(self.pod, "Created", f"Created container {name}")
        record(self.pod, "Started", f"Started container {name}")
        self._set_state(name, {"running": {"startedAt": run.started_at}}, keep_last=True)
        return True

    def _pull(self, c: Obj) -> Image | None:
        """The container's image; for one the node cannot have, ErrImagePull then
        ImagePullBackOff, retried like the kubelet until the pod stops (then None)."""
        assert self.agent.images is not None
        reference, attempts = str(c.get("image", "")), 0
        while not self.stop_event.is_set():
            try:
                image = self.agent.images.pull(reference)
                if self.statuses[c["name"]]["state"].get("waiting", {}).get("reason") in \
                        PULL_REASONS:
                    self._set_state(c["name"], {"waiting": {"reason": "ContainerCreating"}})
                return image
            except PullError as exc:
                error = f'Failed to pull image "{reference}": {exc}'
                self.agent.api.record_event(self.pod, "Failed", error, "Warning")
                self._set_state(c["name"], {"waiting": {"reason": "ErrImagePull",
                                                        "message": error}})
            attempts += 1
            if self.stop_event.wait(min(self.agent.restart_backoff * 2 ** attempts, 2)):
                break
            # Since Kubernetes 1.32 the back-off message carries the last pull error
            # (kubernetes/kubernetes#127918).
            message = f'Back-off pulling image "{reference}": ErrImagePull: {error}'
            self.agent.api.record_event(self.pod, "BackOff", message, "Normal")
            self._set_state(c["name"], {"waiting": {"reason": "ImagePullBackOff",
                                                    "message": message}})
            if self.stop_event.wait(min(self.agent.restart_backoff * 2 ** attempts, 2)):
                break
        return None

    def _wait_one(self, name: str) -> int | None:
        run = self.runs[name]
        assert run.proc is not None
        while run.proc.poll() is None:
            if self.stop_event.wait(0.05):
                return None
        return self._finish(name)

    def _finish(self, name: str) -> int:
        run = self.runs[name]
        assert run.proc is not None
        code = run.proc.wait()
        if code < 0:
            code = 128 - code
        reason = "Completed" if code == 0 else "Error"
        message = None
        self.agent.cgroups.kill_all(run.cgroup)
        if limit_applies(self.pod, name) and self.agent.cgroups.oom_killed(run.cgroup):
            reason, code = "OOMKilled", 137
        elif run.error_file and run.error_file.exists() and run.error_file.stat().st_size:
            reason, code, message = "StartError", 128, run.error_file.read_text()
        self.agent.cgroups.remove(run.cgroup)
        terminated: Obj = {"exitCode": code, "reason": reason, "startedAt": run.started_at,
                           "finishedAt": now_iso(),
                           "containerID": self.statuses[name]["containerID"]}
        if message:
            terminated["message"] = message
        self._set_state(name, {"terminated": terminated})
        return code

    def _terminate(self, name: str, grace: int) -> None:
        """Stop one running container: SIGTERM, SIGKILL after `grace` seconds."""
        run = self.runs.get(name)
        if run is None or run.proc is None or run.proc.poll() is not None:
            return
        self.agent.api.record_event(self.pod, "Killing", f"Stopping container {name}")
        _signal_group(run.proc, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            run.proc.wait(timeout=max(grace, 0.01))
        _signal_group(run.proc, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            run.proc.wait(timeout=5)
        if "running" in self.statuses[name]["state"]:
            self._finish(name)

    def _terminate_all(self, grace: int) -> None:
        running = [(n, r) for n, r in self.runs.items() if r.proc and r.proc.poll() is None]
        for name, _ in running:
            self.agent.api.record_event(self.pod, "Killing", f"Stopping container {name}")
        for _, run in running:
            _signal_group(run.proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _, run in running:
            assert run.proc is not None
            with contextlib.suppress(subprocess.TimeoutExpired):
                run.proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
            _signal_group(run.proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                run.proc.wait(timeout=5)
        for name, _ in running:
            if "running" in self.statuses[name]["state"]:
                self._finish(name)
        for run in self.runs.values():
            self.agent.cgroups.kill_all(run.cgroup)
            self.agent.cgroups.remove(run.cgroup)

    def _finalize_deletion(self) -> None:
        """Stop containers gracefully, record the final status, then remove the pod object."""
        self._terminate_all(self.grace)
        if self.phase not in ("Succeeded", "Failed"):
            mains = self.pod["spec"].get("containers") or []
            codes = [(self.statuses[c["name"]]["state"].get("terminated") or {}).get("exitCode", 1)
                     for c in mains]
            self.phase = "Succeeded" if self.init_done and all(x == 0 for x in codes) else "Failed"
        self._publish()
        store = self.agent.store
        with store.lock:
            current = store.find(PODS, self.namespace, self.name)
            if current and current["metadata"]["uid"] == self.uid and \
                    not current["metadata"].get("finalizers"):
                store.remove(PODS, self.namespace, self.name)
        with self.agent._lock:
            self.agent.workers.pop(self.uid, None)

    # ---- configuration -------------------------------------------------------------------
    def _launch_spec(self, c: Obj, volumes: dict[str, Volume],
                     image: Image | None = None) -> dict[str, Any]:
        pod_sc = self.pod["spec"].get("securityContext") or {}
        sc = c.get("securityContext") or {}
        image_uid, image_gid = image_user(image)
        uid = sc.get("runAsUser", pod_sc.get("runAsUser", image_uid))
        gid = sc.get("runAsGroup", pod_sc.get("runAsGroup", image_gid if uid == image_uid
                                              else None))
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
            if uid is None:
                raise ConfigError("container has runAsNonRoot and image will run as root "
                                  f"(pod: \"{self.name}_{self.namespace}({self.uid})\", "
                                  f"container: {c['name']})")
            if int(uid) == 0:
                raise ConfigError("container's runAsUser breaks non-root policy "
                                  f"(pod: \"{self.name}_{self.namespace}({self.uid})\", "
                                  f"container: {c['name']})")
        env = self._environment(c, image)
        command: list[str] = list(c.get("command") or [])
        args: list[str] = list(c.get("args") or [])
        entrypoint = None if command else self.agent.entrypoint_for(c)
        if image is not None and not command:
            command, args = image.entrypoint, args or image.cmd
        elif callable(entrypoint):
            command, args = list(entrypoint(c)), []
        elif entrypoint is not None:
            command = list(entrypoint)
        argv = [_expand(a, env) for a in command + args]
        if not argv:
            raise ConfigError(f"container {c['name']}: no command or args (images are not "
                              "pulled, so there is no entrypoint; map the image with "
                              "Cluster(image_entrypoints=...))")
        mounts = []
        for m in c.get("volumeMounts") or []:
            vol = volumes[m["name"]]
            source = vol.source
            if m.get("subPath"):
                source = source / m["subPath"]
                source.mkdir(parents=True, exist_ok=True)
            mounts.append({"source": str(source), "target": m["mountPath"],
                           "read_only": bool(m.get("readOnly")) or vol.read_only})
        if not any(m["target"] == "/etc/hosts" for m in mounts):
            self.refresh_hosts()
            mounts.append({"source": str(self.hosts_path), "target": "/etc/hosts",
                           "read_only": False})
        token_dir = self._service_account_files()
        if token_dir is not None and not any(m["target"] == SA_MOUNT for m in mounts):
            mounts.append({"source": str(token_dir), "target": SA_MOUNT, "read_only": True})
        groups = pod_sc.get("supplementalGroups") or []
        if pod_sc.get("fsGroup") is not None:
            groups = [*groups, pod_sc["fsGroup"]]
        return {"argv": argv, "env": env, "mounts": mounts,
                "working_dir": c.get("workingDir") or (image.working_dir if image else None),
                "uid": uid,
                "gid": gid if gid is not None else (uid if uid is not None else None),
                "supplemental_groups": groups,
                "read_only_root": bool(sc.get("readOnlyRootFilesystem"))}

    def _environment(self, c: Obj, image: Image | None = None) -> dict[str, str]:
        location = urlsplit(self.agent.api_url)
        host, port = location.hostname or "127.0.0.1", str(location.port)
        if image is None:
            base = {**self.agent.base_env, "HOME": "/root", "LANG": "C.UTF-8"}
        else:  # the image's Env, and the session mark (tests/support/leftovers.py)
            base = {"PATH": DEFAULT_PATH, "HOME": "/", **image.env}
            if os.environ.get(SESSION_ENV):
                base[SESSION_ENV] = os.environ[SESSION_ENV]
        env = {**base, "HOSTNAME": self.name, "KUBERNETES_SERVICE_HOST": host,
               "KUBERNETES_SERVICE_PORT": port, "KUBERNETES_SERVICE_PORT_HTTPS": port}
        for source in c.get("envFrom") or []:
            prefix = source.get("prefix", "")
            ref = source.get("configMapRef") or source.get("secretRef") or {}
            is_secret = "secretRef" in source
            obj = self.agent.store.find(SECRETS if is_secret else CONFIGMAPS, self.namespace,
                                        ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'{"secret" if is_secret else "configmap"} '
                                  f'"{ref.get("name")}" not found')
            for key, value in (obj.get("data") or {}).items():
                env[prefix + key] = base64.b64decode(value).decode() if is_secret else value
        for var in c.get("env") or []:
            env[var["name"]] = self._env_value(var, env)
        return env

    def _env_value(self, var: Obj, env: dict[str, str]) -> str:
        if "valueFrom" not in var:
            return _expand(var.get("value", ""), env)
        source = var["valueFrom"]
        for key, store_type, kind in (("secretKeyRef", SECRETS, "secret"),
                                      ("configMapKeyRef", CONFIGMAPS, "configmap")):
            if key in source:
                ref = source[key]
                obj = self.agent.store.find(store_type, self.namespace, ref.get("name", ""))
                data = (obj or {}).get("data") or {}
                if obj is None or ref["key"] not in data:
                    if ref.get("optional"):
                        return ""
                    if obj is None:
                        raise ConfigError(f'{kind} "{ref.get("name")}" not found')
                    raise ConfigError(f"couldn't find key {ref['key']} in {kind.capitalize()} "
                                      f"{self.namespace}/{ref.get('name')}")
                value = data[ref["key"]]
                return base64.b64decode(value).decode() if kind == "secret" else value
        if "fieldRef" in source:
            path = source["fieldRef"]["fieldPath"]
            pod = self.agent.store.find(PODS, self.namespace, self.name) or self.pod
            match = re.match(r"metadata\.(labels|annotations)\['(.+)'\]", path)
            if match:
                return (pod["metadata"].get(match.group(1)) or {}).get(match.group(2), "")
            if path in ("status.podIP", "status.hostIP"):
                return "127.0.0.1"
            return field_value(pod, path)
        return ""

    def _service_account_files(self) -> Path | None:
        spec = self.pod["spec"]
        if spec.get("automountServiceAccountToken") is False:
            return None
        directory = self.dir / "serviceaccount"
        if directory.exists():
            return directory
        directory.mkdir(parents=True)
        token = self.agent.tokens.mint(self.namespace, spec.get("serviceAccountName", "default"))
        (directory / "token").write_text(token)
        (directory / "namespace").write_text(self.namespace)
        ca = self.agent.ca_cert.read_text() if self.agent.ca_cert else ""
        (directory / "ca.crt").write_text(ca)
        return directory

    # ---- status --------------------------------------------------------------------------
    def _status(self, c: Obj, state: Obj) -> Obj:
        return {"name": c["name"], "image": c.get("image", ""),
                "imageID": f"kubecall-test://{c.get('image', '')}",
                "containerID": f"kubecall://{self.uid[:8]}-{c['name']}",
                "ready": False, "started": False, "restartCount": 0, "state": state,
                "lastState": {}}

    def _set_state(self, name: str, state: Obj, keep_last: bool = False) -> None:
        status = self.statuses[name]
        if keep_last and "terminated" in status["state"]:
            status["lastState"] = status["state"]
        status["state"] = state
        status["started"] = "running" in state
        status["ready"] = "running" in state
        self._publish()

    def _publish(self, start: bool = False) -> None:
        spec = self.pod["spec"]
        init_names = [c["name"] for c in spec.get("initContainers") or []]
        main_names = [c["name"] for c in spec.get("containers") or []]
        mains = [self.statuses[n] for n in main_names]
        phase = self.phase
        if phase == "Pending" and any("running" in s["state"] or "terminated" in s["state"]
                                      for s in mains) and self.init_done:
            phase = "Running"
        if phase == "Running":
            self.phase = phase
        ready = phase == "Running" and all(s["ready"] for s in mains)
        stamp = now_iso()

        def condition(kind: str, ok: bool, reason: str | None = None) -> Obj:
            cond = {"type": kind, "status": "True" if ok else "False",
                    "lastProbeTime": None, "lastTransitionTime": stamp}
            if reason and not ok:
                cond["reason"] = reason
            return cond

        def update(pod: Obj) -> None:
            if pod["metadata"]["uid"] != self.uid:
                return
            status = pod.setdefault("status", {})
            old = {c["type"]: c for c in status.get("conditions") or []}
            conditions = [
                condition("PodReadyToStartContainers", self.pause is not None),
                condition("Initialized", self.init_done or not init_names,
                          "ContainersNotInitialized"),
                condition("Ready", ready, "ContainersNotReady"),
                condition("ContainersReady", ready, "ContainersNotReady"),
                condition("PodScheduled", True),
            ]
            for cond in conditions:
                prev = old.get(cond["type"])
                if prev and prev.get("status") == cond["status"]:
                    cond["lastTransitionTime"] = prev.get("lastTransitionTime")
            extra = [c for t, c in old.items() if t not in {x["type"] for x in conditions}]
            status["conditions"] = conditions + extra
            status["phase"] = phase
            if self.pod_reason:
                status["reason"], status["message"] = self.pod_reason
            status["hostIP"] = "127.0.0.1"
            status["hostIPs"] = [{"ip": "127.0.0.1"}]
            status["podIP"] = "127.0.0.1"
            status["podIPs"] = [{"ip": "127.0.0.1"}]
            status.setdefault("startTime", stamp)
            status["qosClass"] = _qos(spec)
            if init_names:
                status["initContainerStatuses"] = [dict(self.statuses[n]) for n in init_names]
            status["containerStatuses"] = [dict(s) for s in mains]

        self.agent.store.mutate(PODS, self.namespace, self.name, update, subresource="status")


def is_sidecar(container: Obj) -> bool:
    """A native sidecar: an init container with restartPolicy Always."""
    return container.get("restartPolicy") == "Always"


def image_user(image: Image | None) -> tuple[int | None, int | None]:
    """The uid and gid of the image's `User` ("uid[:gid]", numeric; None when unset)."""
    if image is None or not image.user:
        return None, None
    uid, _, gid = image.user.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        raise ConfigError(f"image user {image.user!r}: the test cluster needs numeric ids")
    return int(uid), int(gid) if gid else None


def host_tool_env() -> dict[str, str]:
    """The environment every container starts from: no image is pulled, so the "image" is this
    host's tools, with the running interpreter's bin directory (the venv) first on PATH and the
    test process's PYTHONPATH, so containers run the code under test."""
    path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    env = {"PATH": f"{Path(sys.executable).parent}:{path}"}
    # PYTHONPATH: the code under test; SESSION_ENV: whose processes these are (leftover check)
    for name in ("PYTHONPATH", SESSION_ENV):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


def limit_applies(pod: Obj, container: str) -> bool:
    """Whether the container has a memory limit (only then is an OOM kill reported)."""
    spec = pod["spec"]
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        if c["name"] == container:
            return bool(((c.get("resources") or {}).get("limits") or {}).get("memory"))
    return False


def _qos(spec: Obj) -> str:
    resources = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("limits") or r.get("requests") for r in resources):
        return "BestEffort"
    if all(r.get("limits") and r.get("limits") == r.get("requests", r.get("limits"))
           for r in resources):
        return "Guaranteed"
    return "Burstable"


def _expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion (unknown references stay as written)."""
    return _VAR.sub(lambda m: env.get(m.group(1), m.group(0)), str(text))


def _signal_group(proc: subprocess.Popen[bytes] | None, sig: int) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
