"""A throwaway single-node SLURM cluster on localhost, for tests.

The cluster is built from Debian's ``slurm-wlm`` and ``munge`` packages (installed with
``apt-get`` when any of the binaries is missing) and runs entirely as root without cgroups:
``proctrack/linuxproc``, ``task/none``, ``select/cons_tres``, no accounting database.

Everything the daemons write (configuration, munge key and socket, state, spool, logs, PID
files) lives in one temporary directory. The one change outside it is
``/etc/slurm/slurm.conf``: the SLURM executor plugin drops ``SLURM_CONF`` before the ``srun``
it runs inside each job, so the default path must point at this cluster's configuration. It
becomes a symlink for the lifetime of the cluster and whatever was there before is put back on
teardown. The daemons are started in the foreground as children of this process and are stopped
by PID, never by name.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
"""Where SLURM clients look for their configuration when ``SLURM_CONF`` is unset."""

APT_PACKAGES: tuple[str, ...] = ("slurm-wlm", "munge")
"""Debian packages that provide slurmctld, slurmd, the client commands and munged."""

REQUIRED_BINARIES: tuple[str, ...] = (
    "munged",
    "slurmctld",
    "slurmd",
    "sbatch",
    "srun",
    "squeue",
    "scontrol",
    "sinfo",
)
"""Executables the cluster and the SLURM executor plugin need on PATH."""

SBIN_DIRS: tuple[str, ...] = ("/usr/sbin", "/sbin", "/usr/local/sbin")
"""Daemon directories that a non-login PATH may lack."""

NODE_NAME = "localhost"
PARTITION = "debug"
CLUSTER_NAME = "snakelab"
NODE_CPUS = 2
FAKE_GPUS = 1
"""GPUs the node advertises: one, backed by ``/dev/null`` (slurmd drops file-less GPUs and wants
a character device), so a job that requests ``--gpus``/``--gres=gpu`` is scheduled and runs,
which shows SLURM accepted the request, on a machine without any GPU."""
MIN_JOB_AGE_S = 3600
"""Finished jobs stay visible to ``squeue``/``scontrol`` this long (no accounting database).

The executor plugin only trusts ``squeue`` for status when MinJobAge is at least three times its
initial status-check delay; otherwise it falls back to ``sacct``, which fails without accounting.
"""

MAX_SOCKET_PATH = 100
"""Longest munge socket path accepted (``sun_path`` holds 108 bytes)."""


class SlurmUnavailable(RuntimeError):
    """SLURM cannot be provided here (not root, no apt-get, installation failed)."""


class SlurmStartError(RuntimeError):
    """SLURM is installed but the cluster did not come up."""


class SlurmCommandError(RuntimeError):
    """A SLURM client command against the running cluster failed or timed out."""


def _tail(path: Path, lines: int = 30) -> str:
    """Return the last ``lines`` lines of ``path``, or a note that it is missing."""
    if not path.exists():
        return f"<{path} does not exist>"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def _which(name: str) -> str | None:
    """Find ``name`` on PATH or in the usual sbin directories."""
    found = shutil.which(name)
    if found:
        return found
    for directory in SBIN_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_binaries() -> list[str]:
    """Names in :data:`REQUIRED_BINARIES` that cannot be found."""
    return [name for name in REQUIRED_BINARIES if _which(name) is None]


def ensure_installed(timeout_s: float = 900.0) -> None:
    """Install SLURM and munge with apt-get unless they are already present.

    Raises:
        SlurmUnavailable: not root, apt-get missing, or the installation failed or left
            binaries missing; the message says which.
    """
    missing = missing_binaries()
    if not missing:
        return
    if os.geteuid() != 0:
        raise SlurmUnavailable(
            f"SLURM binaries missing ({', '.join(missing)}) and not running as root, "
            "so they cannot be installed with apt-get"
        )
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        raise SlurmUnavailable(f"SLURM binaries missing ({', '.join(missing)}) and apt-get is not available")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt_get, "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES]
    deadline = time.monotonic() + timeout_s
    result = _run_bounded(install, env, deadline)
    if result.returncode != 0:
        update = _run_bounded([apt_get, "update", "-q"], env, deadline)
        if update.returncode != 0:
            raise SlurmUnavailable(
                f"apt-get update failed (exit {update.returncode}): {update.stdout[-2000:]}"
            )
        result = _run_bounded(install, env, deadline)
    if result.returncode != 0:
        raise SlurmUnavailable(
            f"apt-get install {' '.join(APT_PACKAGES)} failed (exit {result.returncode}): "
            f"{result.stdout[-2000:]}"
        )
    still_missing = missing_binaries()
    if still_missing:
        raise SlurmUnavailable(
            f"apt-get installed {' '.join(APT_PACKAGES)} but {', '.join(still_missing)} are still missing"
        )


def _run_bounded(
    command: Sequence[str], env: dict[str, str], deadline: float
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` until ``deadline`` (monotonic), stdout and stderr merged."""
    remaining = max(1.0, deadline - time.monotonic())
    try:
        return subprocess.run(
            list(command),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=remaining,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise SlurmUnavailable(f"{' '.join(command)} timed out after {remaining:.0f} s") from error


def _free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on localhost that nothing listens on right now."""
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _memory_mb() -> int:
    """Physical memory in MiB, from /proc/meminfo."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise SlurmStartError("MemTotal not found in /proc/meminfo")


@dataclass(frozen=True)
class ClusterLayout:
    """Paths of one cluster instance, all below ``root``."""

    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def gres_conf(self) -> Path:
        return self.root / "gres.conf"

    @property
    def munge_key(self) -> Path:
        return self.root / "munge" / "munge.key"

    @property
    def munge_socket(self) -> Path:
        return self.root / "munge" / "munge.socket"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def spool_dir(self) -> Path:
        return self.root / "spool"

    def log(self, daemon: str) -> Path:
        return self.root / "log" / f"{daemon}.log"

    def console(self, daemon: str) -> Path:
        """Where a daemon's own stdout/stderr go (early errors before its log file opens)."""
        return self.root / "log" / f"{daemon}.console"

    def pid_file(self, daemon: str) -> Path:
        return self.root / "run" / f"{daemon}.pid"


def render_slurm_conf(layout: ClusterLayout, ctld_port: int, slurmd_port: int, real_memory_mb: int) -> str:
    """The slurm.conf of a one-node, root-only, cgroup-free cluster."""
    def_mem_per_cpu = max(100, real_memory_mb // (4 * NODE_CPUS))
    settings = {
        "ClusterName": CLUSTER_NAME,
        "SlurmctldHost": f"{NODE_NAME}(127.0.0.1)",
        "SlurmctldPort": str(ctld_port),
        "SlurmdPort": str(slurmd_port),
        "AuthType": "auth/munge",
        "CredType": "cred/munge",
        "AuthInfo": f"socket={layout.munge_socket}",
        "SlurmUser": "root",
        "SlurmdUser": "root",
        "StateSaveLocation": str(layout.state_dir),
        "SlurmdSpoolDir": str(layout.spool_dir),
        "SlurmctldPidFile": str(layout.pid_file("slurmctld")),
        "SlurmdPidFile": str(layout.pid_file("slurmd")),
        "SlurmctldLogFile": str(layout.log("slurmctld")),
        "SlurmdLogFile": str(layout.log("slurmd")),
        "SlurmctldDebug": "info",
        "SlurmdDebug": "info",
        "SlurmdParameters": "config_overrides",
        "ProctrackType": "proctrack/linuxproc",
        "TaskPlugin": "task/none",
        "JobAcctGatherType": "jobacct_gather/none",
        "AccountingStorageType": "accounting_storage/none",
        "JobCompType": "jobcomp/none",
        "MpiDefault": "none",
        "SchedulerType": "sched/backfill",
        "SelectType": "select/cons_tres",
        "SelectTypeParameters": "CR_Core_Memory",
        "DefMemPerCPU": str(def_mem_per_cpu),
        "GresTypes": "gpu",
        "ReturnToService": "2",
        "MinJobAge": str(MIN_JOB_AGE_S),
        "SchedulerParameters": "sched_interval=1",
        "InactiveLimit": "0",
        "KillWait": "5",
        "Waittime": "0",
    }
    lines = [f"{key}={value}" for key, value in settings.items()]
    lines.append(
        f"NodeName={NODE_NAME} NodeAddr=127.0.0.1 CPUs={NODE_CPUS} "
        f"RealMemory={real_memory_mb} Gres=gpu:{FAKE_GPUS} State=UNKNOWN"
    )
    lines.append(f"PartitionName={PARTITION} Nodes={NODE_NAME} Default=YES MaxTime=INFINITE State=UP")
    return "\n".join(lines) + "\n"


def render_gres_conf() -> str:
    """gres.conf declaring :data:`FAKE_GPUS` device-less GPUs on the node."""
    return f"NodeName={NODE_NAME} Name=gpu Count={FAKE_GPUS} File=/dev/null\n"


@dataclass
class SlurmCluster:
    """A running cluster: its configuration and helpers for the client commands."""

    layout: ClusterLayout
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def conf_path(self) -> Path:
        return self.layout.conf

    @property
    def partition(self) -> str:
        return PARTITION

    def run(
        self, *args: str, timeout_s: float = 30.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a SLURM client command against this cluster.

        Raises:
            SlurmCommandError: with the command's output and the daemon log tails, when it
                times out, or when ``check`` is set and it fails.
        """
        executable = _which(args[0]) or args[0]
        try:
            result = subprocess.run(
                [executable, *args[1:]],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise SlurmCommandError(
                f"{' '.join(args)} timed out after {timeout_s} s\n{self.log_tails()}"
            ) from error
        if check and result.returncode != 0:
            raise SlurmCommandError(
                f"{' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\n"
                f"stderr: {result.stderr}\n{self.log_tails()}"
            )
        return result

    def squeue(self, *args: str) -> str:
        """Output of ``squeue`` with ``args``."""
        return self.run("squeue", *args).stdout

    def scontrol(self, *args: str) -> str:
        """Output of ``scontrol`` with ``args``."""
        return self.run("scontrol", *args).stdout

    def show_job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job`` as a mapping (``JobState``, ``JobName``, ...); empty if unknown."""
        result = self.run("scontrol", "show", "job", "--oneliner", job_id, check=False)
        if result.returncode != 0:
            return {}
        fields: dict[str, str] = {}
        for token in result.stdout.split():
            key, sep, value = token.partition("=")
            if sep and key not in fields:
                fields[key] = value
        return fields

    def cancel(self, *job_ids: str) -> None:
        """``scancel`` the given jobs (no error if they already ended)."""
        if job_ids:
            self.run("scancel", *job_ids, check=False)

    def node_state(self) -> str:
        """The node's state as ``sinfo`` prints it (``idle``, ``alloc``, ``down*``, ...)."""
        result = self.run("sinfo", "--noheader", "--Node", "--format=%t", check=False)
        return result.stdout.strip() if result.returncode == 0 else ""

    def log_tails(self, lines: int = 30) -> str:
        """The last lines of each daemon's log, for failure messages.

        A daemon in the foreground copies its log to stderr, so the console capture is shown
        only for a daemon whose log file was never opened.
        """
        parts = []
        for daemon in ("munged", "slurmctld", "slurmd"):
            log = self.layout.log(daemon)
            if not log.exists():
                log = self.layout.console(daemon)
            parts.append(f"--- tail of {log} ---\n{_tail(log, lines)}")
        return "\n".join(parts)


def _start_daemon(cluster: SlurmCluster, name: str, command: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start ``command`` in the foreground in its own session, output to its log."""
    with cluster.layout.console(name).open("ab") as log:
        process = subprocess.Popen(
            list(command),
            env=cluster.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    cluster.processes[name] = process
    return process


def _stop_daemon(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM the daemon by PID, SIGKILL it if it outlives ``grace_s``, and reap it."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace_s)


def _wait_for(cluster: SlurmCluster, what: str, ready: Callable[[], bool], timeout_s: float) -> None:
    """Poll ``ready()`` until it is true; fail with the daemon logs after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for name, process in cluster.processes.items():
            if process.poll() is not None:
                raise SlurmStartError(
                    f"{name} (pid {process.pid}) exited with {process.returncode} while "
                    f"waiting for {what}\n{cluster.log_tails()}"
                )
        if ready():
            return
        time.sleep(0.2)
    raise SlurmStartError(f"timed out after {timeout_s} s waiting for {what}\n{cluster.log_tails()}")


def _cancel_leftover_jobs(cluster: SlurmCluster, timeout_s: float = 30.0) -> None:
    """scancel every job still pending or running and wait until none is left.

    Job steps run under slurmstepd, which is not a child of slurmd; cancelling through the
    controller is what stops them before the daemons go away.
    """
    ctld = cluster.processes.get("slurmctld")
    if ctld is None or ctld.poll() is not None:
        return
    active = "--states=PENDING,RUNNING,SUSPENDED,COMPLETING,CONFIGURING"

    def active_jobs() -> list[str]:
        result = cluster.run("squeue", "--noheader", "--format=%i", active, check=False)
        return result.stdout.split() if result.returncode == 0 else []

    jobs = active_jobs()
    if not jobs:
        return
    cluster.cancel(*jobs)
    deadline = time.monotonic() + timeout_s
    while active_jobs() and time.monotonic() < deadline:
        time.sleep(0.5)


@contextmanager
def _system_conf_link(target: Path) -> Iterator[None]:
    """Point :data:`SYSTEM_CONF` at ``target``; restore the previous state afterwards."""
    created_dir = not SYSTEM_CONF.parent.exists()
    backup: Path | None = None
    if SYSTEM_CONF.exists() or SYSTEM_CONF.is_symlink():
        backup = SYSTEM_CONF.with_name(f"{SYSTEM_CONF.name}.snakelab-test-backup-{os.getpid()}")
        SYSTEM_CONF.rename(backup)
    SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
    try:
        SYSTEM_CONF.symlink_to(target)
        yield
    finally:
        if SYSTEM_CONF.is_symlink() and SYSTEM_CONF.resolve() == target.resolve():
            SYSTEM_CONF.unlink()
        if backup is not None:
            backup.rename(SYSTEM_CONF)
        elif created_dir and not any(SYSTEM_CONF.parent.iterdir()):
            SYSTEM_CONF.parent.rmdir()


@contextmanager
def running_cluster(root: Path, start_timeout_s: float = 60.0) -> Iterator[SlurmCluster]:
    """Bring up munged, slurmctld and slurmd under ``root``; stop them by PID on exit.

    Raises:
        SlurmUnavailable: not root.
        SlurmStartError: a daemon died or the node did not become idle in time; the
            message carries the daemon log tails.
    """
    if os.geteuid() != 0:
        raise SlurmUnavailable("the test cluster runs its daemons as root, and this is not root")
    layout = ClusterLayout(root)
    if len(str(layout.munge_socket)) > MAX_SOCKET_PATH:
        raise SlurmStartError(
            f"munge socket path {layout.munge_socket} is longer than {MAX_SOCKET_PATH} "
            "characters (the limit of a unix socket path); use a shorter temporary directory"
        )
    for directory in (
        layout.state_dir,
        layout.spool_dir,
        layout.log("x").parent,
        layout.pid_file("x").parent,
    ):
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)
    layout.munge_key.parent.mkdir(parents=True, exist_ok=True)
    layout.munge_key.parent.chmod(0o755)
    layout.munge_key.write_bytes(os.urandom(1024))
    layout.munge_key.chmod(0o400)
    ctld_port, slurmd_port = _free_ports(2)
    layout.conf.write_text(
        render_slurm_conf(
            layout,
            ctld_port=ctld_port,
            slurmd_port=slurmd_port,
            real_memory_mb=max(1024, _memory_mb() - 512),
        )
    )
    layout.gres_conf.write_text(render_gres_conf())
    path_dirs = [*os.environ.get("PATH", "").split(os.pathsep), *SBIN_DIRS]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_"))
    }
    env["SLURM_CONF"] = str(layout.conf)
    env["PATH"] = os.pathsep.join(dict.fromkeys(path for path in path_dirs if path))
    cluster = SlurmCluster(layout=layout, env=env)

    with _system_conf_link(layout.conf):
        try:
            _start_daemon(
                cluster,
                "munged",
                [
                    _which("munged") or "munged",
                    "--foreground",
                    "--force",
                    f"--key-file={layout.munge_key}",
                    f"--socket={layout.munge_socket}",
                    f"--pid-file={layout.pid_file('munged')}",
                    f"--seed-file={layout.root / 'munge' / 'munged.seed'}",
                    f"--log-file={layout.log('munged')}",
                ],
            )
            _wait_for(cluster, "the munge socket", layout.munge_socket.exists, start_timeout_s)
            _start_daemon(
                cluster,
                "slurmctld",
                [_which("slurmctld") or "slurmctld", "-D", "-c", "-f", str(layout.conf)],
            )
            _wait_for(
                cluster,
                "slurmctld to answer",
                lambda: " is UP" in cluster.run("scontrol", "ping", check=False).stdout,
                start_timeout_s,
            )
            _start_daemon(
                cluster,
                "slurmd",
                [_which("slurmd") or "slurmd", "-D", "-N", NODE_NAME, "-f", str(layout.conf)],
            )
            _wait_for(
                cluster,
                f"node {NODE_NAME} to be idle in sinfo",
                lambda: cluster.node_state() == "idle",
                start_timeout_s,
            )
            yield cluster
        finally:
            try:
                _cancel_leftover_jobs(cluster)
            finally:
                for name in ("slurmd", "slurmctld", "munged"):
                    process = cluster.processes.get(name)
                    if process is not None:
                        _stop_daemon(process)
