"""A misspelt class parameter in the batchie config stops the workflow while it is parsed, before any job."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.workflow

PDBAL = {"name": "GaussianDBALScorer", "params": {"max_tripels": 100}}


@pytest.mark.parametrize(
    ("batchie", "expected"),
    [
        (
            {"arms": {"pdbal": {"scorer": PDBAL, "policy": None}}},
            "config batchie.arms.pdbal.scorer.params: GaussianDBALScorer has no parameter 'max_tripels' "
            "(allowed: max_triples, max_chunk, distance_factor, exact)",
        ),
        (
            {
                "mode": "prospective",
                "screen": "resources/batchie/masked_screen.h5",
                "prospective": {"policy": {"name": "KPerSamplePlatePolicy", "params": {"kk": 3}}},
            },
            "config batchie.prospective.policy.params: KPerSamplePlatePolicy has no parameter 'kk' "
            "(allowed: k)",
        ),
    ],
)
def test_a_typo_in_a_class_parameter_fails_before_any_job(workflow, batchie, expected) -> None:
    wf = workflow({"batchie": batchie})
    run = wf.run(check=False)
    assert run.returncode != 0
    assert expected in run.output
    for directory in ("results", "resources", "logs"):
        assert not wf.workdir.joinpath(directory).exists()
