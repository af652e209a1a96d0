"""check_config: every class spec of a batchie section builds, or one line names the config key."""

from __future__ import annotations

import copy

import pytest
import yaml

from snakelab.batchie.config import check_config, class_specs
from snakelab.core.errors import InputError
from tests.harness import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def full_section(**overrides) -> dict:
    """The schema-filled ``batchie`` section of the demo config (every class spec present)."""
    from snakemake.utils import validate

    config = {"pipelines": ["batchie"], "batchie": overrides}
    validate(config, str(SCHEMA))
    return config["batchie"]


def test_the_demo_and_example_configs_pass() -> None:
    check_config(full_section())
    check_config({})
    for path in sorted((REPO / "config" / "examples").glob("batchie*.yaml")):
        check_config(yaml.safe_load(path.read_text())["batchie"])


def test_class_specs_lists_every_spec_with_its_key_and_role() -> None:
    section = full_section(
        prepare={"plate_smoother": {"name": "FixedSizeSmoother", "params": {"plate_size": 2}}},
        prospective={"policy": {"name": "KPerSamplePlatePolicy", "params": {"k": 3}}},
    )
    keys = [(key, role, spec["name"]) for key, role, spec in class_specs(section)]
    assert keys == [
        ("prepare.plate_generator", "plate-generator", "PlatePermutationPlateGenerator"),
        ("prepare.plate_smoother", "plate-smoother", "FixedSizeSmoother"),
        ("model", "model", "SparseDrugCombo"),
        ("distance", "distance-metric", "MSEDistance"),
        ("arms.random.scorer", "scorer", "RandomScorer"),
        ("arms.pdbal.scorer", "scorer", "GaussianDBALScorer"),
        ("prospective.scorer", "scorer", "GaussianDBALScorer"),
        ("prospective.policy", "policy", "KPerSamplePlatePolicy"),
    ]


PDBAL = {"name": "GaussianDBALScorer", "params": {"max_triples": 5000}}

CASES = [
    (
        {"arms": {"pdbal": {"scorer": {"name": "GaussianDBALScorer", "params": {"max_tripels": 10}}}}},
        "config batchie.arms.pdbal.scorer.params: GaussianDBALScorer has no parameter 'max_tripels' "
        "(allowed: max_triples, max_chunk, distance_factor, exact)",
    ),
    (
        {"arms": {"pdbal": {"scorer": {"name": "GaussianDBALScorr"}}}},
        "config batchie.arms.pdbal.scorer.name: expected one of GaussianDBALScorer, RandomScorer, "
        "SizeScorer, found 'GaussianDBALScorr'",
    ),
    (
        {"arms": {"pdbal": {"scorer": {"name": "GaussianDBALScorer", "params": {"max_triples": "many"}}}}},
        "config batchie.arms.pdbal.scorer.params.max_triples: expected an int, found 'many'",
    ),
    (
        {"arms": {"p": {"scorer": PDBAL, "policy": {"name": "KPerSamplePlatePolicy", "params": {"k": 0}}}}},
        "config batchie.arms.p.policy.params.k: expected a positive integer, found 0",
    ),
    (
        {"prospective": {"policy": {"name": "KPerSamplePlatePolicy"}}},
        "config batchie.prospective.policy.params: KPerSamplePlatePolicy needs k",
    ),
    (
        {"prospective": {"scorer": {"name": "RandomScorer", "params": {"seed": 1}}}},
        "config batchie.prospective.scorer.params: RandomScorer has no parameter 'seed' (allowed: none)",
    ),
    (
        {"model": {"name": "SparseDrugCombo", "params": {"n_embedding_dimensions": 2, "a00": 1.0}}},
        "config batchie.model.params: SparseDrugCombo has no parameter 'a00'",
    ),
    (
        {"model": {"name": "SparseDrugCombo", "params": {}}},
        "config batchie.model.params: SparseDrugCombo needs n_embedding_dimensions",
    ),
    (
        {"model": {"params": {"n_embedding_dimensions": 2}, "mcmc": {"thin": 0}}},
        "config batchie.model.mcmc.thin: expected an int >= 1, found 0",
    ),
    (
        {"distance": {"name": "MSEDistance", "params": {"experiments": "some"}}},
        "config batchie.distance.params.experiments: expected one of all, unobserved, found 'some'",
    ),
    (
        {"prepare": {"plate_smoother": {"name": "FixedSizeSmoother", "params": {}}}},
        "config batchie.prepare.plate_smoother.params: FixedSizeSmoother needs plate_size",
    ),
    (
        {"prepare": {"initial_plate_generator": {"name": "SparseCoverPlateGenerator", "params": {"x": 1}}}},
        "config batchie.prepare.initial_plate_generator.params: SparseCoverPlateGenerator has no "
        "parameter 'x'",
    ),
    (
        {
            "prepare": {
                "plate_generator": {"name": "PairwisePlateGenerator", "params": {"subset_size": "20x"}}
            }
        },
        "config batchie.prepare.plate_generator.params.subset_size: expected an int, found '20x'",
    ),
]


@pytest.mark.parametrize(("section", "message"), CASES)
def test_a_bad_class_spec_fails_naming_the_config_key(section: dict, message: str) -> None:
    with pytest.raises(InputError) as info:
        check_config(section)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_a_typo_in_one_arm_fails_even_when_the_rest_is_valid() -> None:
    section = full_section()
    bad = copy.deepcopy(section)
    bad["arms"]["pdbal"]["scorer"]["params"]["exactt"] = True
    check_config(section)
    with pytest.raises(InputError, match=r"^config batchie\.arms\.pdbal\.scorer\.params: .*'exactt'"):
        check_config(bad)
