"""§15.12: snakemake on a tiny segment config builds every output (blocks fanned out by the plan-blocks
checkpoint); a second run has nothing to do."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.segment.conftest import TINY

pytestmark = pytest.mark.workflow


@pytest.mark.slow
def test_tiny_workflow_builds_everything_then_nothing(workflow) -> None:
    section = {**TINY, "predict": {"volumes": ["va"], "block_shape": [24, 24, 40]}}
    wf = workflow(base="config/examples/segment_demo.yaml")
    (wf.workdir / "config" / "config.yaml").write_text(
        yaml.safe_dump({"pipelines": ["segment"], "segment": section})
    )
    done = wf.run(timeout=900)
    for run, criterion in (("a__0", "voi"), ("b__0", "fg__dice")):
        best = json.loads(done.path(f"results/segment/runs/{run}/best/{criterion}.json").read_text())
        scores = json.loads(done.path(f"results/segment/predict/{run}/va/scores.json").read_text())
        assert criterion in scores["scores"] and scores["parameter"] == best["parameter"]
        blocks = sorted(done.path(f"results/segment/predict/{run}/va/blocks").iterdir())
        assert [b.name for b in blocks] == ["00000.npz", "00001.npz"]
        for name in ("loss.png", "scores.png", "slices_va.png"):
            assert done.path(f"results/segment/plots/{run}/{name}").stat().st_size > 0
    assert done.path("results/segment/plots/summary.png").exists()
    again = wf.run("-n")
    assert "Nothing to be done" in again.output
    wf.run("--report", "report.zip")
    assert done.path("report.zip").stat().st_size > 0


def test_validation_jobs_mode_plans_one_job_per_checkpoint_and_dataset(workflow) -> None:
    section = {**TINY, "validation": {"mode": "jobs"}}
    wf = workflow(base="config/examples/segment_demo.yaml")
    (wf.workdir / "config" / "config.yaml").write_text(
        yaml.safe_dump({"pipelines": ["segment"], "segment": section})
    )
    dry = wf.run("-n", "--quiet", "rules")
    counts = dict(re.findall(r"^(segment_\w+)\s+(\d+)$", dry.output, flags=re.MULTILINE))
    assert counts["segment_validate"] == "4" and counts["segment_gather_scores"] == "2"
    assert counts["segment_train"] == "2" and counts["segment_plan_blocks"] == "2"


def test_bad_config_fails_before_any_job_with_one_message(workflow) -> None:
    tasks = {**TINY["tasks"], "dist": {"type": "distance", "thresholds": [127]}}
    wf = workflow(base="config/examples/segment_demo.yaml")
    config = {"pipelines": ["segment"], "segment": {**TINY, "tasks": tasks}}
    (wf.workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    result = wf.run("-n", check=False)
    assert result.returncode != 0
    assert (
        "segment.tasks.dist.thresholds: threshold 127 is outside the prediction range (-1, 1)"
        in result.output
    )
    assert not (wf.workdir / "results").exists()
