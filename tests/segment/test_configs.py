"""§3 run configs: expansion, stored configs, duplicate names, run hash, directory datasplits, checks."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from snakelab.core.errors import InputError
from snakelab.segment.configs import (
    check_section,
    expand_runs,
    resolve_directory_datasplit,
    resolve_run,
    seed_sequence,
    write_configs,
)
from snakelab.segment.volumes import Volume, write_volume


def test_repetitions_expand_to_one_run_each(tiny_section: dict) -> None:
    section = copy.deepcopy(tiny_section)
    section["runs"][0]["repetitions"] = 3
    runs = expand_runs(section)
    assert [r["run"] for r in runs] == ["a__0", "a__1", "a__2", "b__0"]
    assert [r["repetition"] for r in runs] == [0, 1, 2, 0]


def test_repetitions_share_the_hash_and_differ_in_seeds(tiny_section: dict, tmp_path: Path) -> None:
    section = copy.deepcopy(tiny_section)
    section["runs"][0]["repetitions"] = 2
    r0, r1 = resolve_run(section, "a__0", tmp_path), resolve_run(section, "a__1", tmp_path)
    assert r0["config_hash"] == r1["config_hash"]
    assert seed_sequence(r0).generate_state(1)[0] != seed_sequence(r1).generate_state(1)[0]
    assert resolve_run(section, "a__0", tmp_path / "elsewhere")["config_hash"] == r0["config_hash"]


def test_configs_are_stored_once_and_a_different_one_under_the_same_name_fails(
    tiny_section: dict, tmp_path: Path
) -> None:
    write_configs(resolve_run(tiny_section, "a__0", tmp_path), tmp_path)
    write_configs(resolve_run(tiny_section, "b__0", tmp_path), tmp_path)
    stored = yaml.safe_load((tmp_path / "configs" / "tasks" / "affs.yaml").read_text())
    assert stored["biases"] == [0.5, 0.9]
    run_yaml = yaml.safe_load((tmp_path / "runs" / "a__0" / "run.yaml").read_text())
    assert run_yaml["task"]["name"] == "affs" and len(run_yaml["config_hash"]) == 64
    changed = copy.deepcopy(tiny_section)
    changed["tasks"]["affs"]["biases"] = [0.25]
    changed["runs"][0]["name"] = "c"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(InputError, match=r"affs\.yaml: task: a different config with this name exists"):
        write_configs(resolve_run(changed, "c__0", tmp_path), tmp_path)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_existing_run_with_another_hash_is_one_line(tiny_section: dict, tmp_path: Path) -> None:
    write_configs(resolve_run(tiny_section, "a__0", tmp_path), tmp_path)
    changed = copy.deepcopy(tiny_section)
    changed["runs"][0]["num_iterations"] = 7
    with pytest.raises(InputError) as info:
        write_configs(resolve_run(changed, "a__0", tmp_path), tmp_path)
    assert "config_hash" in str(info.value) and "\n" not in str(info.value)


def _crop(path: Path) -> None:
    data = np.zeros((4, 4, 4), np.uint8)
    write_volume(
        path,
        {
            "raw": Volume(data, (1, 1, 1), (0, 0, 0)),
            "labels": Volume(data.astype(np.uint64), (1, 1, 1), (0, 0, 0)),
        },
    )


def test_directory_datasplit_flat_and_nested(tmp_path: Path) -> None:
    _crop(tmp_path / "flat" / "train")
    _crop(tmp_path / "flat" / "validate")
    flat = resolve_directory_datasplit(tmp_path / "flat")
    assert flat["train"][0]["path"] == str(tmp_path / "flat" / "train")
    assert (Path(flat["train"][0]["path"]) / "raw").is_dir()
    _crop(tmp_path / "nested" / "train" / "crop1.zarr")
    _crop(tmp_path / "nested" / "train" / "crop2.zarr")
    _crop(tmp_path / "nested" / "validate" / "crop3.zarr")
    nested = resolve_directory_datasplit(tmp_path / "nested")
    assert [e["dataset"] for e in nested["train"]] == ["crop1", "crop2"]
    assert nested["validate"][0]["path"] == str(tmp_path / "nested" / "validate" / "crop3.zarr")
    assert not nested["train"][0]["path"].endswith("raw")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["tasks"]["dist"].update(thresholds=[127]), "outside the prediction range"),
        (lambda s: s["tasks"]["affs"].update(biases=[1.5]), "outside the affinity range"),
        (lambda s: s["runs"][0].update(task="nope"), "unknown task"),
        (lambda s: s["architectures"]["u"].update(input_shape=[21, 20, 20]), "valid sizes"),
        (lambda s: s["predict"].update(block_shape=[12, 16, 16]), "not a multiple of the eval output"),
        (lambda s: s["data"]["tr"].update(offset=[4, 0, 0]), "not a multiple of voxel_size"),
        (lambda s: s["datasplits"]["d"].update(validate=["zz"]), "unknown dataset"),
        (lambda s: s.update(select={"criterion": "voi"}), "'voi' is not a criterion of run b"),
        (lambda s: s["architectures"]["u"].update(upsample_factors=[[2, 2, 2]]), "output voxel size"),
    ],
)
def test_config_checks_fail_with_one_line(tiny_section: dict, change, message: str) -> None:
    section = copy.deepcopy(tiny_section)
    change(section)
    with pytest.raises(InputError) as info:
        check_section(section)
    assert message in str(info.value) and "\n" not in str(info.value)
