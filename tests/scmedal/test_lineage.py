"""Lineage (spec §12): a finished job is recorded once in the metastore with its metrics and files."""

from __future__ import annotations

from pathlib import Path

import pytest

from snakelab.scmedal import config as C
from snakelab.scmedal.lineage import record
from snakelab.scmedal.paths import Tree


def test_record_once_with_metrics_and_hashed_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SNAKELAB_STORE_URL", raising=False)
    cfg = C.section({"scmedal": {"outdir": str(tmp_path / "out"), "datasets": {"d": {"input": "x.h5ad"}}}})
    tree = Tree(cfg, "d")
    for path in (tree.adata(), tree.splits()):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(b"data " + path.encode())
    latent = Path(tree.latent("ae", 1, "test"))
    latent.parent.mkdir(parents=True)
    latent.write_bytes(b"latent")
    args = (tree, "train", "ae_run_splits_1", C.run_key(cfg, "d", "ae"), {"model": "ae", "fold": 1})
    assert record(None, *args, {"best_epoch": 3}, {"latent_test": str(latent)}) is None  # no store named
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    uid = record(url, *args, {"best_epoch": 3}, {"latent_test": str(latent)}, seed=42)
    assert uid is not None and len(uid) == 20
    assert record(url, *args, {"best_epoch": 3}, {"latent_test": str(latent)}, seed=42) is None
    assert (Path(tree.root) / "lineage" / "train" / "ae_run_splits_1" / "run.json").is_file()
