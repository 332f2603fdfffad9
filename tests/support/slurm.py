"""A throwaway one-node SLURM cluster on loopback, for tests: munged, slurmctld, slurmd.

Everything lives in a temporary directory except slurm.conf itself, which must be at
SLURM's compiled-in path (/etc/slurm/slurm.conf on Debian): the plugin's job step strips
every SLURM_* variable, SLURM_CONF included, before its inner ``srun``. A file there is
only written when absent (or left by an earlier run of this helper), and removed at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by kubecall tests/support/slurm.py"
DAEMONS = ("munged", "slurmctld", "slurmd")
MIN_NODE_MEMORY_MB = 20000


class ClusterUnavailable(Exception):
    """SLURM cannot run here; the message says why (the test is skipped with it)."""


@dataclass
class Cluster:
    """A running cluster: its config, logs and job-completion record."""

    root: Path
    conf: Path
    node: str
    jobcomp: Path
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """Environment for SLURM clients (sbatch, squeue, srun) to use this cluster."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def completed_jobs(self) -> list[dict[str, str]]:
        """Jobs the controller recorded as finished (jobcomp/filetxt), as key=value dicts."""
        if not self.jobcomp.exists():
            return []
        return [dict(part.split("=", 1) for part in line.split() if "=" in part)
                for line in self.jobcomp.read_text().splitlines() if line.strip()]

    def logs(self) -> str:
        """The daemons' logs, for a failure message."""
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}"
                         for p in sorted((self.root / "log").glob("*.log")))


def missing_tools() -> list[str]:
    """SLURM and munge programs this helper needs that are not installed."""
    tools = ("munged", "slurmctld", "slurmd", "srun", "sbatch", "squeue", "scontrol")
    return [tool for tool in tools
            if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ClusterUnavailable("cannot read MemTotal from /proc/meminfo")


def _sbin(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def slurm_conf(root: Path, node: str, cpus: int, memory_mb: int) -> str:
    """A one-node slurm.conf with state, spool and logs under ``root``."""
    return f"""{MARKER}
ClusterName=kubecalltest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
# root runs the daemons and the jobs: a test machine has no slurm user
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
# no cgroups in a container: track processes by parent pid, bind no tasks
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# a job that names no memory must not take the whole node
DefMemPerCPU=500
# no slurmdbd: sacct has nothing to ask, so finished jobs are recorded in a text file
# and kept visible to squeue for 10 minutes (the plugin's squeue status mode needs that)
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={root}/log/jobcomp.txt
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
MpiDefault=none
ReturnToService=2
# trust the node line below over what slurmd detects (see start_cluster: memory)
SlurmdParameters=config_overrides
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


def start_cluster(root: Path, timeout: float = 300.0) -> Cluster:
    """Start munged, slurmctld and slurmd as root; wait until ``srun hostname`` answers."""
    if os.geteuid() != 0:
        raise ClusterUnavailable("the SLURM daemons are started as root; run the test as root")
    missing = missing_tools()
    if missing:
        raise ClusterUnavailable(f"not installed: {', '.join(missing)} "
                                 f"(apt-get install slurm-wlm munge)")
    if SYSTEM_CONF.exists() and MARKER not in SYSTEM_CONF.read_text():
        raise ClusterUnavailable(f"{SYSTEM_CONF} belongs to a real cluster; not replacing it")
    for sub in ("munge", "state", "spool", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "munge").chmod(0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    node = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    # The machine's CPUs; its memory, but at least enough for one of the profile's 16 GB
    # calling jobs (2 threads x 8 GB). Nothing enforces memory here (no cgroups), and a
    # small CI runner would otherwise leave those jobs pending forever.
    memory_mb = max(_memory_mb() * 9 // 10, MIN_NODE_MEMORY_MB)
    conf.write_text(slurm_conf(root, node, os.cpu_count() or 1, memory_mb))
    SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(conf, SYSTEM_CONF)
    cluster = Cluster(root, conf, node, root / "log" / "jobcomp.txt")
    munge = root / "munge"
    commands = {
        # --force: the socket's parent (a pytest tmp dir) need not pass munged's path checks
        "munged": [_sbin("munged"), "--force", f"--key-file={key}",
                   f"--socket={munge}/munge.socket", f"--pid-file={munge}/munged.pid",
                   f"--log-file={root}/log/munged.log", f"--seed-file={munge}/seed"],
        "slurmctld": [_sbin("slurmctld"), "-f", str(conf)],
        "slurmd": [_sbin("slurmd"), "-f", str(conf), "-N", node],
    }
    pid_files = {"munged": munge / "munged.pid", "slurmctld": root / "slurmctld.pid",
                 "slurmd": root / "slurmd.pid"}
    try:
        for name in DAEMONS:
            done = subprocess.run(commands[name], capture_output=True, text=True,
                                  env=cluster.env, check=False, timeout=300)
            if done.returncode != 0:
                raise ClusterUnavailable(f"{name} did not start: {done.stderr.strip()}")
            cluster.pids[name] = _wait_for_pid(pid_files[name])
        _wait_for_srun(cluster, timeout)
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def _wait_for_pid(pid_file: Path, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid_file.exists() and pid_file.read_text().strip():
            return int(pid_file.read_text().split()[0])
        time.sleep(0.2)
    raise ClusterUnavailable(f"no pid file {pid_file} after {timeout:.0f} s")


def _wait_for_srun(cluster: Cluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        done = subprocess.run(["srun", "--time=1", "hostname"], capture_output=True,
                              text=True, env=cluster.env, check=False, timeout=timeout)
        if done.returncode == 0 and done.stdout.strip():
            return
        last = done.stderr.strip()
        time.sleep(1)
    raise ClusterUnavailable(f"'srun hostname' did not answer in {timeout:.0f} s: {last}\n"
                             f"{cluster.logs()}")


def stop_cluster(cluster: Cluster) -> None:
    """Stop the daemons this helper started (by pid) and remove its system slurm.conf."""
    for name in reversed(DAEMONS):
        pid = cluster.pids.pop(name, None)
        if pid is None:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
    if SYSTEM_CONF.exists() and MARKER in SYSTEM_CONF.read_text():
        SYSTEM_CONF.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a daemon's zombie is not ours to reap (it was daemonized); check its state
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"
