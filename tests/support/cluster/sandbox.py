"""Stand-alone helper that runs one pod sandbox or one container in a private mount namespace.

Run as a script (stdlib only, so it starts fast):
  sandbox.py pause SPEC.json   unshare a mount namespace, mount the pod's tmpfs volumes, print
                               "ready", then hold the namespace until stdin closes.
  sandbox.py run SPEC.json     join the pod's namespace, unshare a child namespace, join the
                               container's cgroup, bind-mount its volumes (into the image's root
                               and chroot there, when SPEC["image_root"]), drop privileges, exec.
A failure before exec writes the reason to SPEC["error_file"] (created empty first, while the
host's paths are still visible) and exits 128.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import warnings  # noqa: F401 - os.execvpe imports it lazily, maybe after privileges drop

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None),
           f"mount {source} on {target}")


def _die_with_parent() -> None:
    """SIGKILL this process if the agent thread that started it dies (e.g. pytest killed)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _private_namespace() -> None:
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)


def pause(spec: dict) -> None:
    _die_with_parent()
    _private_namespace()
    if spec.get("hostname"):
        _check(_libc.unshare(CLONE_NEWUTS), "unshare(CLONE_NEWUTS)")
        name = spec["hostname"].encode()
        _check(_libc.sethostname(name, len(name)), "sethostname")
    for tmpfs in spec.get("tmpfs", []):
        options = f"size={tmpfs['size']}" if tmpfs.get("size") else None
        _mount("tmpfs", tmpfs["path"], "tmpfs", MS_NOSUID | MS_NODEV, options)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.read()


def _bind(source: str, target: str, read_only: bool) -> None:
    if not os.path.exists(target):
        if os.path.isdir(source):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
    _mount(source, target, None, MS_BIND | MS_REC, None)
    if read_only:
        _mount("none", target, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)


def _in_root(root: str, path: str) -> str:
    """`path` inside `root` with its symlinks resolved there (an image's absolute link, like
    /var/run -> /run, points into the image, not at the host)."""
    resolved = ""
    parts = [p for p in path.split("/") if p]
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            resolved = resolved.rsplit("/", 1)[0]
            continue
        candidate = f"{resolved}/{part}"
        if os.path.islink(root + candidate) and hops < 40:
            hops += 1
            link = os.readlink(root + candidate)
            parts = [p for p in link.split("/") if p] + parts
            if link.startswith("/"):
                resolved = ""
            continue
        resolved = candidate
    return root + (resolved or "/")


def _enter_image(spec: dict) -> None:
    """Make the image's root the container's: an overlay of the unpacked image (writes go to a
    per-run upper directory), the kernel's /dev, /proc and /sys, the volumes, /etc/hosts and the
    token bound into it, the whole read-only when readOnlyRootFilesystem; then chroot."""
    root, upper = spec["image_root"], spec["image_upper"]
    for path in (root, upper + "/data", upper + "/work"):
        os.makedirs(path, exist_ok=True)
    _mount("overlay", root, "overlay", 0,
           f"lowerdir={spec['image_rootfs']},upperdir={upper}/data,workdir={upper}/work")
    for kernel in ("/dev", "/proc", "/sys"):
        os.makedirs(root + kernel, exist_ok=True)
        _mount(kernel, root + kernel, None, MS_BIND | MS_REC, None)
    for mount in sorted(spec.get("mounts", []), key=lambda m: m["target"].count("/")):
        _bind(mount["source"], _in_root(root, mount["target"]), mount.get("read_only", False))
    if spec.get("read_only_root"):
        _mount("none", root, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
    os.chroot(root)
    os.chdir("/")


def run(spec: dict) -> None:
    if spec.get("pause_pid"):
        fd = os.open(f"/proc/{spec['pause_pid']}/ns/mnt", os.O_RDONLY)
        _check(_libc.setns(fd, CLONE_NEWNS), "setns(pod mount namespace)")
        os.close(fd)
        fd = os.open(f"/proc/{spec['pause_pid']}/ns/uts", os.O_RDONLY)
        _check(_libc.setns(fd, CLONE_NEWUTS), "setns(pod uts namespace)")
        os.close(fd)
    _private_namespace()
    if spec.get("cgroup"):
        with open(os.path.join(spec["cgroup"], "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))
    if spec.get("image_root"):
        _enter_image(spec)
    else:
        for mount in sorted(spec.get("mounts", []), key=lambda m: m["target"].count("/")):
            _bind(mount["source"], mount["target"], mount.get("read_only", False))
        if spec.get("read_only_root"):
            _mount("none", "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
    if spec.get("working_dir"):
        os.chdir(spec["working_dir"])
    gid, uid = spec.get("gid"), spec.get("uid")
    if gid is not None or uid is not None:
        os.setgroups([int(g) for g in spec.get("supplemental_groups", [])])
        if gid is not None:
            os.setgid(int(gid))
        if uid is not None:
            os.setuid(int(uid))
    _die_with_parent()  # after setuid, which clears the setting
    argv = spec["argv"]
    os.execvpe(argv[0], argv, spec["env"])


def probe() -> None:
    """Exit 0 when this host lets us make private mount namespaces with bind mounts."""
    _private_namespace()
    _mount("/", "/", None, MS_BIND, None)


def main() -> None:
    if sys.argv[1] == "probe":
        try:
            probe()
        except OSError as exc:
            sys.stderr.write(f"{exc}\n")
            sys.exit(1)
        return
    mode, path = sys.argv[1], sys.argv[2]
    with open(path) as handle:
        spec = json.load(handle)
    # Opened now: after chroot the host's path is gone, after setuid its directory unwritable.
    errors = open(spec["error_file"], "w")  # noqa: SIM115 - closed by exec (close-on-exec)
    try:
        if mode == "pause":
            pause(spec)
        else:
            run(spec)
    except OSError as exc:
        message = f"{exc.filename}: {exc.strerror}" if exc.filename else f"{exc.strerror or exc}"
        if mode == "run" and isinstance(exc, FileNotFoundError) and exc.filename is None:
            message = f'exec: "{spec["argv"][0]}": executable file not found in $PATH'
        errors.write(message)
        errors.close()
        sys.stderr.write(f"sandbox: {message}\n")
        sys.exit(128)


if __name__ == "__main__":
    main()
