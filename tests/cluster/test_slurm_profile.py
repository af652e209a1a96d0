"""The SLURM profile against a real single-node SLURM cluster on localhost.

``test_batchie_demo_data_runs_as_slurm_jobs`` runs the project's own workflow through
``--profile workflow/profiles/slurm`` and checks, from Snakemake's log and from SLURM itself,
that every job was a SLURM job of this cluster that completed. ``test_gpu_requests_become_gres``
checks the GPU mapping: a rule with ``resources: gpu=1`` is submitted with ``--gpus=1`` and one
with ``gres="gpu:1"`` with ``--gres=gpu:1``; SLURM records both as GRES requests and runs them
on the cluster's device-less GPU, while a plain rule gets the profile's default resources.

Overrides on the command line are for this cluster only: it has no accounting database, so job
status comes from ``squeue`` (finished jobs stay listed for MinJobAge), there is no account to
look up, the first status check comes after 2 s instead of 40 s, and SLURM logs of successful
jobs are kept so the test can read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.slurm import MIN_JOB_AGE_S, SlurmCluster
from tests.harness import BIN, REPO, Workflow, WorkflowRun, run_bounded

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

PROFILE = "workflow/profiles/slurm"
TEST_OVERRIDES: tuple[str, ...] = (
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--slurm-no-account",
    "--slurm-keep-successful-logs",
    "--verbose",
)
"""Cluster-specific settings layered over the profile (see the module docstring)."""

RUN_TIMEOUT_S = 420
BATCHIE_TARGETS: tuple[str, ...] = (
    "resources/batchie/unmasked_screen.h5",
    "resources/batchie/masked_screen.h5",
)

SUBMITTED = re.compile(
    r"Job (?P<job>\d+) has been submitted with SLURM jobid (?P<slurm_id>\d+) "
    r"\(log: (?P<log>[^)]+)\)\."
)
SBATCH_CALL = re.compile(r"sbatch call: (?P<call>sbatch .*)")


@dataclass(frozen=True)
class Submission:
    """One job as the SLURM executor reported it: the sbatch call, the id, the job log."""

    slurm_id: str
    log: Path
    rule: str
    sbatch_call: str


def snakemake_log(run: WorkflowRun) -> str:
    """Snakemake's own log of the run (``.snakemake/log/*.snakemake.log``)."""
    logs = sorted((run.workdir / ".snakemake" / "log").glob("*.snakemake.log"))
    assert logs, f"no Snakemake log under {run.workdir / '.snakemake' / 'log'}:\n{run.output}"
    return logs[-1].read_text()


def submissions(run: WorkflowRun) -> list[Submission]:
    """Every SLURM submission of ``run``, from Snakemake's log.

    The executor logs ``sbatch call: ...`` (with ``--verbose``) and then ``Job N has been
    submitted with SLURM jobid ID (log: PATH).`` for each job; the sbatch call carries
    ``--comment rule_<name>`` and the log path, which pair the two lines up.
    """
    text = snakemake_log(run)
    calls = [match["call"] for match in SBATCH_CALL.finditer(text)]
    found = []
    for match in SUBMITTED.finditer(text):
        log = Path(match["log"])
        log_pattern = str(log.with_name("%j.log"))
        call = next((c for c in calls if f"--output {log_pattern} " in c), "")
        assert call, f"no sbatch call logged for SLURM job {match['slurm_id']} ({log}):\n{text}"
        rule = re.search(r"--comment '?rule_(\w+?)'?(?: |$)", call)
        assert rule, f"sbatch call without --comment rule_<name>: {call}"
        found.append(Submission(match["slurm_id"], log, rule.group(1), call))
    return found


def run_profile(
    workdir: Path, snakefile: Path, *targets: str, timeout_s: float = RUN_TIMEOUT_S
) -> WorkflowRun:
    """Run ``snakemake`` from this interpreter's bin directory (first on PATH) on ``targets``
    through the SLURM profile plus the test overrides, bounded by ``timeout_s``.

    On timeout Snakemake gets SIGINT (it cancels its SLURM jobs) and SIGKILL 10 s later.
    """
    command = [
        str(BIN / "snakemake"),
        "--snakefile",
        str(snakefile),
        "--directory",
        str(workdir),
        "--profile",
        str(REPO / PROFILE),
        *TEST_OVERRIDES,
        *targets,
    ]
    proc = run_bounded(command, workdir, timeout_s)
    return WorkflowRun(workdir, command, proc.returncode, proc.stdout)


def assert_succeeded(run: WorkflowRun, cluster: SlurmCluster) -> None:
    """Exit status 0, or a failure message with Snakemake's output, the queue and daemon logs."""
    if run.returncode != 0:
        queued = cluster.run("squeue", "--noheader", "--format=%i|%T|%R", check=False).stdout
        raise AssertionError(
            f"snakemake exited {run.returncode}: {' '.join(run.command)}\n"
            f"{run.output[-6000:]}\nstill queued: {queued.strip() or 'nothing'}\n"
            f"{cluster.log_tails()}"
        )


def assert_completed_slurm_jobs(
    cluster: SlurmCluster, run: WorkflowRun, jobs: list[Submission]
) -> dict[str, dict[str, str]]:
    """Each job is known to this cluster's controller as a COMPLETED job of this run.

    Returns ``scontrol show job`` of each job, by SLURM id.
    """
    assert jobs, f"Snakemake submitted no SLURM jobs:\n{run.output[-6000:]}"
    run_names = set()
    shown = {}
    for job in jobs:
        info = cluster.show_job(job.slurm_id)
        assert info, (
            f"scontrol does not know SLURM job {job.slurm_id} (MinJobAge={MIN_JOB_AGE_S} s)\n"
            f"{cluster.log_tails()}"
        )
        assert info["JobState"] == "COMPLETED", f"job {job.slurm_id}: {info}"
        assert info["ExitCode"] == "0:0", f"job {job.slurm_id}: {info}"
        assert info["Comment"] == f"rule_{job.rule}", f"job {job.slurm_id}: {info}"
        assert Path(info["WorkDir"]) == run.workdir, f"job {job.slurm_id}: {info}"
        assert info["StdOut"] == str(job.log), f"job {job.slurm_id}: {info}"
        assert job.log.is_file(), f"SLURM log {job.log} of job {job.slurm_id} is missing"
        job_log = job.log.read_text()
        assert re.search(rf"['\"]SLURM_JOB_ID['\"]: ['\"]{job.slurm_id}['\"]", job_log), (
            f"the log of job {job.slurm_id} does not show it ran with SLURM_JOB_ID={job.slurm_id}:"
            f"\n{job_log[-3000:]}"
        )
        run_names.add(info["JobName"])
        shown[job.slurm_id] = info
    assert len(run_names) == 1, f"jobs of one run carry different job names: {run_names}"
    listed = cluster.squeue("--states=all", "--noheader", "--format=%i|%T", f"--name={run_names.pop()}")
    states = dict(line.split("|", 1) for line in listed.split())
    assert states == {job.slurm_id: "COMPLETED" for job in jobs}, listed
    ids = ",".join(job.slurm_id for job in jobs)
    accounted = cluster.run("sacct", "-X", "-n", "-P", "-o", "JobID,State", "-j", ids, check=False)
    if accounted.returncode == 0:
        assert dict(line.split("|", 1) for line in accounted.stdout.split()) == {
            job.slurm_id: "COMPLETED" for job in jobs
        }, accounted.stdout
    return shown


def test_batchie_demo_data_runs_as_slurm_jobs(
    slurm_cluster: SlurmCluster, workflow: Callable[..., Workflow]
) -> None:
    """The project's workflow makes the batchie demo data as SLURM jobs on the local cluster."""
    wf = workflow()
    run = run_profile(wf.workdir, REPO / "Snakefile", *BATCHIE_TARGETS)
    assert_succeeded(run, slurm_cluster)
    for target in BATCHIE_TARGETS:
        assert run.path(target).is_file(), f"{target} was not made:\n{run.output[-6000:]}"
    jobs = submissions(run)
    assert {job.rule for job in jobs} == {"batchie_demo_data"}, jobs
    assert_completed_slurm_jobs(slurm_cluster, run, jobs)


GPU_SNAKEFILE = """\
rule all:
    input:
        "gpu_count.txt",
        "gres_string.txt",
        "cpu_only.txt",
    localrule: True


rule gpu_count:
    output:
        "gpu_count.txt",
    resources:
        gpu=1,
    shell:
        "echo $SLURM_JOB_ID ${{CUDA_VISIBLE_DEVICES-unset}} > {output}"


rule gres_string:
    output:
        "gres_string.txt",
    resources:
        gres="gpu:1",
    shell:
        "echo $SLURM_JOB_ID ${{CUDA_VISIBLE_DEVICES-unset}} > {output}"


rule cpu_only:
    output:
        "cpu_only.txt",
    threads: 2
    shell:
        "echo $SLURM_JOB_ID ${{CUDA_VISIBLE_DEVICES-unset}} > {output}"
"""


def profile_config() -> Mapping[str, Any]:
    """The SLURM profile as parsed YAML."""
    loaded = yaml.safe_load((REPO / PROFILE / "config.yaml").read_text())
    assert isinstance(loaded, Mapping)
    return loaded


def test_gpu_requests_become_gres(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    """``gpu=1`` → ``--gpus=1``, ``gres="gpu:1"`` → ``--gres=gpu:1``; SLURM allocates the GPU."""
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(GPU_SNAKEFILE)
    workdir = tmp_path / "run"
    workdir.mkdir()
    run = run_profile(workdir, snakefile)
    assert_succeeded(run, slurm_cluster)
    jobs = {job.rule: job for job in submissions(run)}
    assert set(jobs) == {"gpu_count", "gres_string", "cpu_only"}, jobs
    shown = assert_completed_slurm_jobs(slurm_cluster, run, list(jobs.values()))

    gpu_call = jobs["gpu_count"].sbatch_call
    gres_call = jobs["gres_string"].sbatch_call
    cpu_call = jobs["cpu_only"].sbatch_call
    assert " --gpus=1" in gpu_call, gpu_call
    assert " --gres=gpu:1" in gres_call, gres_call
    assert "--gpus" not in cpu_call and "--gres" not in cpu_call, cpu_call
    assert shown[jobs["gpu_count"].slurm_id].get("TresPerJob") == "gres:gpu:1"
    assert shown[jobs["gres_string"].slurm_id].get("TresPerNode") == "gres:gpu:1"
    for rule in ("gpu_count", "gres_string"):
        slurm_id, visible = run.path(f"{rule}.txt").read_text().split()
        assert slurm_id == jobs[rule].slurm_id
        assert visible != "unset", f"{rule}: SLURM did not hand the job a GPU"
    slurm_id, visible = run.path("cpu_only.txt").read_text().split()
    assert (slurm_id, visible) == (jobs["cpu_only"].slurm_id, "unset")

    defaults = profile_config()["default-resources"]
    assert f" --mem {defaults['mem_mb']} " in cpu_call, cpu_call
    assert f" -t {defaults['runtime']} " in cpu_call, cpu_call
    assert defaults["cpus_per_task"] == "threads"
    assert " --cpus-per-task=2 " in cpu_call, cpu_call
