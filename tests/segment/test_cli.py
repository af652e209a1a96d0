"""§15.12 every CLI stage by hand on the tiny fixtures (relative paths); bad input → one line, exit 2;
``snakelab segment --help`` and the light stages do not import torch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from snakelab.cli import main
from tests.segment.conftest import dump
from tests.test_cli import imported_modules


def test_help_and_light_stages_do_not_import_torch(tmp_path: Path) -> None:
    assert "torch" not in imported_modules(["segment", "--help"], tmp_path)
    spec = json.dumps({"kind": "spheres", "shape": [8, 8, 8], "n_objects": 2, "radius": [1, 2], "seed": 0})
    modules = imported_modules(["segment", "make-data", "--spec-json", spec, "--output", "d.zarr"], tmp_path)
    assert "torch" not in modules
    assert (tmp_path / "d.zarr" / "raw").is_dir()


def run(*argv: str) -> None:
    assert main(["segment", *argv]) == 0


def test_every_stage_by_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_section: dict) -> None:
    monkeypatch.chdir(tmp_path)
    section = {
        **tiny_section,
        "runs": [{**tiny_section["runs"][1], "num_iterations": 4, "validation_interval": 2}],
    }
    dump(section, Path("config.yaml"))
    for name, spec in section["data"].items():
        run("make-data", "--spec-json", json.dumps(spec), "--output", f"results/segment/data/{name}.zarr")
    run("configs", "--section", "config.yaml", "--run", "b__0", "--root", "results/segment")
    rundir = "results/segment/runs/b__0"
    run("train", "--run-dir", rundir)
    run("validate", "--run-dir", rundir, "--iteration", "2", "--dataset", "va", "--output", "v2.json")
    run("validate", "--run-dir", rundir, "--iteration", "4", "--dataset", "va", "--output", "v4.json")
    run("gather-scores", "--run-dir", rundir, "--inputs", "v2.json", "v4.json", "--output", "gathered.json")
    gathered, in_job = (
        json.loads(Path("gathered.json").read_text()),
        json.loads(Path(rundir, "validation_scores.json").read_text()),
    )
    assert gathered == in_job
    run("select-best", "--run-dir", rundir)
    best = f"{rundir}/best/fg__dice.json"
    doc = json.loads(Path(best).read_text())
    assert doc["checkpoint"] == f"checkpoints/iterations/{doc['iteration']}.pt"
    out = "results/segment/predict/b__0/va"
    run(
        "plan-blocks",
        "--run-dir",
        rundir,
        "--raw",
        "results/segment/data/va.zarr/raw",
        "--block-shape",
        "16",
        "16",
        "16",
        "--output",
        f"{out}/blocks.json",
    )
    n = len(json.loads(Path(out, "blocks.json").read_text())["blocks"])
    files = [f"{out}/blocks/{k:05d}.npz" for k in range(n)]
    for k, file in enumerate(files):
        run(
            "predict-block",
            "--run-dir",
            rundir,
            "--blocks",
            f"{out}/blocks.json",
            "--index",
            str(k),
            "--best",
            best,
            "--output",
            file,
        )
    run(
        "stitch",
        "--run-dir",
        rundir,
        "--blocks",
        f"{out}/blocks.json",
        "--block-files",
        *files,
        "--best",
        best,
        "--output",
        f"{out}/prediction.zarr",
    )
    run(
        "postprocess",
        "--run-dir",
        rundir,
        "--prediction",
        f"{out}/prediction.zarr",
        "--best",
        best,
        "--output",
        f"{out}/segmentation.zarr",
    )
    run(
        "evaluate",
        "--run-dir",
        rundir,
        "--segmentation",
        f"{out}/segmentation.zarr",
        "--dataset",
        "results/segment/data/va.zarr",
        "--output",
        f"{out}/scores.json",
    )
    scores = json.loads(Path(out, "scores.json").read_text())["scores"]
    per_dataset = doc["per_dataset"]["va"]
    assert scores["fg__dice"] == pytest.approx(per_dataset, abs=1e-9)
    run(
        "apply",
        "--run-dir",
        rundir,
        "--raw",
        "results/segment/data/va.zarr/raw",
        "--best",
        best,
        "--block-shape",
        "8",
        "8",
        "8",
        "--output-dir",
        "applied",
    )
    a = zarr.open_array("applied/segmentation.zarr/segmentation", mode="r")[...]
    b = zarr.open_array(f"{out}/segmentation.zarr/segmentation", mode="r")[...]
    np.testing.assert_array_equal(a, b)
    run(
        "plot",
        "--run-dir",
        rundir,
        "--best",
        best,
        "--volume",
        f"va=results/segment/data/va.zarr,{out}",
        "--output-dir",
        "plots",
    )
    run("summary", "--best", best, "--output", "plots/summary.png")
    assert sorted(p.name for p in Path("plots").iterdir()) == [
        "loss.png",
        "scores.png",
        "slices_va.png",
        "summary.png",
    ]
    np.save("raw.npy", np.zeros((4, 6, 6), np.uint8))
    np.save("labels.npy", np.ones((4, 6, 6), np.int32))
    run(
        "convert",
        "--raw",
        "raw.npy",
        "--labels",
        "labels.npy",
        "--voxel-size",
        "8",
        "8",
        "8",
        "--output",
        "c.zarr",
    )
    assert zarr.open_array("c.zarr/labels", mode="r").dtype == np.uint64


def fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert main(["segment", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ")
    return err


def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiny_section: dict
) -> None:
    monkeypatch.chdir(tmp_path)
    group = zarr.open_group("bare.zarr", mode="w", zarr_format=2)
    group.create_array("raw", shape=(8, 8, 8), dtype="u1")
    dump(tiny_section, Path("config.yaml"))
    run("configs", "--section", "config.yaml", "--run", "b__0", "--root", "res")
    err = fails(
        capsys,
        "plan-blocks",
        "--run-dir",
        "res/runs/b__0",
        "--raw",
        "bare.zarr/raw",
        "--block-shape",
        "8",
        "8",
        "8",
        "--output",
        "blocks.json",
    )
    assert "voxel_size: missing attribute" in err and not Path("blocks.json").exists()
    group["raw"].attrs.update({"voxel_size": [8, 8, 8], "offset": [3, 0, 0]})
    err = fails(
        capsys,
        "plan-blocks",
        "--run-dir",
        "res/runs/b__0",
        "--raw",
        "bare.zarr/raw",
        "--block-shape",
        "8",
        "8",
        "8",
        "--output",
        "blocks.json",
    )
    assert "offset: expected a multiple of voxel_size" in err
    bad = {
        **tiny_section,
        "architectures": {"u": {**tiny_section["architectures"]["u"], "input_shape": [21, 20, 20]}},
    }
    dump(bad, Path("bad.yaml"))
    err = fails(capsys, "configs", "--section", "bad.yaml", "--run", "b__1", "--root", "res")
    assert "valid sizes" in err
    threshold = {
        **tiny_section,
        "tasks": {**tiny_section["tasks"], "dist": {**tiny_section["tasks"]["dist"], "thresholds": [127]}},
    }
    dump(threshold, Path("t.yaml"))
    assert "outside the prediction range" in fails(
        capsys, "configs", "--section", "t.yaml", "--run", "b__0", "--root", "res"
    )
    renamed = {**tiny_section, "runs": [{**tiny_section["runs"][1], "num_iterations": 9}]}
    dump(renamed, Path("r.yaml"))
    assert "config_hash" in fails(capsys, "configs", "--section", "r.yaml", "--run", "b__0", "--root", "res")
    np.save("raw.npy", np.zeros((4, 6, 6), np.uint8))
    np.save("labels.npy", np.ones((4, 6, 5), np.int32))
    err = fails(
        capsys,
        "convert",
        "--raw",
        "raw.npy",
        "--labels",
        "labels.npy",
        "--voxel-size",
        "8",
        "8",
        "8",
        "--output",
        "c.zarr",
    )
    assert "differs from raw shape" in err and not Path("c.zarr").exists()
