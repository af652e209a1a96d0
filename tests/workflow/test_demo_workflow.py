"""The workflow end to end on the demo config: files, their contents, reruns and config errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from snakelab.batchie.data import Screen
from snakelab.batchie.demo import make_demo

pytestmark = pytest.mark.workflow


def test_demo_workflow_builds_the_batchie_demo_screens(workflow, tmp_path) -> None:
    # the demo's tabular part (80 Keras/PyTorch runs) is run by tests/tabular/test_workflow.py (A4)
    wf = workflow({"pipelines": ["batchie"]})
    run = wf.run()
    unmasked = Screen.load_h5(run.path("resources/batchie/unmasked_screen.h5"))
    masked = Screen.load_h5(run.path("resources/batchie/masked_screen.h5"))
    assert unmasked.size == masked.size == 12
    np.testing.assert_allclose(unmasked.observations[4:], np.arange(3, 11) / 10)
    assert unmasked.observation_mask.all()
    assert masked.observation_mask.tolist() == [True] * 4 + [False] * 8
    assert "INFO snakelab.batchie: wrote" in run.path("logs/batchie/demo_data.log").read_text()

    # the rule writes the same bytes as the library called directly
    direct = make_demo(tmp_path / "direct")
    for path in direct:
        assert run.path(f"resources/batchie/{path.name}").read_bytes() == path.read_bytes()

    rerun = wf.run()
    assert "Nothing to be done" in rerun.output

    wf.run("--report", "report.html")
    html = run.path("report.html").read_text()
    assert "pipelines listed in" in html
    assert "batchie_demo_data" in html


def test_one_pipeline_target_and_dry_run(workflow) -> None:
    wf = workflow()
    dry = wf.run("--dry-run", targets=["batchie_all"])
    assert "batchie_demo_data" in dry.output
    assert not wf.workdir.joinpath("resources").exists()


def test_demo_includes_the_tabular_iris_experiments(workflow) -> None:
    wf = workflow()
    dry = wf.run("--dry-run", "--printshellcmds")
    for rule, count in [
        ("tabular_register", 1),
        ("tabular_split", 2),
        ("tabular_prepare", 10),
        ("tabular_plan", 2),
        ("tabular_train", 4),
        ("tabular_aggregate", 2),
        ("tabular_report", 2),
    ]:
        assert re.search(rf"^{rule}\s+{count}$", dry.output, re.MULTILINE), rule
    assert "batchie_demo_data" in dry.output
    assert not wf.workdir.joinpath("results").exists()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"batchie": {"resoures": {}}}, "'resoures' was unexpected"),
        ({"batchie": {"resources": {"default": {"mem_mb": "lots"}}}}, "'lots' is not of type 'integer'"),
        ({"pipelines": ["batchie", "imnnn"]}, "'imnnn' is not one of"),
    ],
)
def test_config_errors_fail_before_any_job(workflow, overrides, expected) -> None:
    wf = workflow(overrides)
    run = wf.run(check=False)
    assert run.returncode != 0
    assert expected in run.output
    assert not wf.workdir.joinpath("resources").exists()
    assert not wf.workdir.joinpath("logs").exists()


def test_enabled_pipeline_without_section_uses_schema_defaults(workflow) -> None:
    wf = workflow()
    (wf.workdir / "config" / "config.yaml").write_text("pipelines: [batchie]\n")
    run = wf.run("--dry-run", "--printshellcmds")
    assert "snakelab batchie make-demo --output-dir resources/batchie" in run.output
