"""Spec §7, §13, §14.10: defaults agree with the schema; run names hash exactly the listed keys; presets."""

from __future__ import annotations

import copy

import pytest
import yaml

from snakelab.scmedal import config as C
from tests.harness import REPO

BASE = {"scmedal": {"datasets": {"demo": {"input": "in.h5ad", "x": "raw", "x_kind": "lognorm"}}}}


def _validated(cfg: dict) -> dict:
    from snakemake.utils import validate

    doc = {"pipelines": ["scmedal"], **copy.deepcopy(cfg)}
    validate(doc, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return doc


def test_schema_defaults_equal_the_python_defaults() -> None:
    assert C.section(_validated(BASE)) == C.section(BASE)
    filled = _validated(BASE)["scmedal"]
    for key in (
        "preprocess",
        "splits",
        "architecture",
        "training",
        "scores",
        "umap",
        "genomap",
        "mec",
        "compare",
    ):
        assert filled[key] == C.section(BASE)[key], key


def test_demo_and_example_configs_validate() -> None:
    for name in ("scmedal_demo.yaml", "scmedal_aml.yaml"):
        _validated(yaml.safe_load((REPO / "config" / "examples" / name).read_text()))


def _name(**changes) -> str:
    cfg = C.section(C.deep_merge(BASE, {"scmedal": changes}))
    return C.run_name(cfg, "demo", "scmedalre")


def test_run_name_ignores_threads_outdir_device_and_save_recon() -> None:
    base = _name()
    assert base.startswith("run_crossval_") and len(base) == len("run_crossval_") + 12
    assert _name(outdir="elsewhere") == base
    assert _name(training={"threads": 8, "device": "gpu", "save_recon": ["test"]}) == base


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 1},
        {"training": {"epochs": 3}},
        {"architecture": {"latent_dim": 10}},
        {"loss_weights": {"scmedalre": {"cls": 0.4}}},
        {"faithful": {"scaling_per_split": True}},
        {"splits": {"seed": 1}},
        {"preprocess": {"n_top_genes": 100}},
        {"datasets": {"demo": {"batch_key": "donor"}}},
    ],
)
def test_run_name_changes_with_every_hashed_key(change: dict) -> None:
    assert _name(**change) != _name()


def test_presets_then_user_weights() -> None:
    cfg = C.section(C.deep_merge(BASE, {"scmedal": {"datasets": {"demo": {"preset": "AML"}}}}))
    assert C.loss_weights(cfg, "demo", "scmedalfec") == {"recon": 2000.0, "cls": 3.0, "gen": 0.5}
    assert C.loss_weights(cfg, "demo", "aec") == {"recon": 100.0, "cls": 0.6}
    cfg["loss_weights"] = {"scmedalfec": {"gen": 2}}
    assert C.loss_weights(cfg, "demo", "scmedalfec") == {"recon": 2000.0, "cls": 3.0, "gen": 2.0}
    assert C.loss_weights(C.section(BASE), "demo", "scmedalfe") == {"recon": 4000.0, "gen": 1.0}


def test_faithful_true_sets_the_four_flags() -> None:
    cfg = C.section(C.deep_merge(BASE, {"scmedal": {"faithful": True}}))
    assert all(cfg["faithful"][k] for k in C.FAITHFUL_FLAGS)
