"""The scmedal CLI: light stages do not import the frameworks; bad input is one line, exit 2, no output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from tests.harness import BIN, tool_env
from tests.scmedal.conftest import counts_adata

HEAVY = ("tensorflow", "keras", "torch", "jax", "umap", "ot", "scanpy")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "snakelab"), "scmedal", *args],
        cwd=cwd,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_config(tmp_path: Path, adata, **dataset) -> Path:
    adata.write_h5ad(tmp_path / "in.h5ad")
    spec = {"input": "in.h5ad", "batch_key": "donor", "celltype_key": "type", **dataset}
    cfg = {
        "scmedal": {
            "datasets": {"d": spec},
            "preprocess": {"n_top_genes": None},
            "genomap": {"grid": [10, 10]},
        }
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for part in parts:
        assert part in lines[0], lines[0]


def test_light_stages_import_no_framework(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, counts_adata())
    assert cli("preprocess", "--config", str(cfg), "--dataset", "d", cwd=tmp_path).returncode == 0
    probe = (
        "import sys, json\nfrom snakelab.cli import main\n"
        f"rc = main(['scmedal', 'splits', '--config', {str(cfg)!r}, '--dataset', 'd'])\n"
        "assert rc == 0, rc\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=tool_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)
    doc = json.loads(next(tmp_path.glob("results/scmedal/d_outputs/data/*/splits.json")).read_text())
    assert doc["n_folds"] == 5 and len(doc["folds"]) == 5


def test_missing_batch_column(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, counts_adata(), batch_key="sample")
    proc = cli("preprocess", "--config", str(cfg), "--dataset", "d", cwd=tmp_path)
    assert_one_line_error(proc, "in.h5ad", "obs['sample']", "expected")
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.h5ad"))


def test_nonfinite_values(tmp_path: Path) -> None:
    adata = counts_adata()
    adata.X = adata.X.toarray()
    adata.X[0, 0] = np.inf
    cfg = write_config(tmp_path, adata)
    assert_one_line_error(
        cli("preprocess", "--config", str(cfg), "--dataset", "d", cwd=tmp_path), "in.h5ad", "NaN or inf"
    )


def test_too_few_cells_in_a_batch(tmp_path: Path) -> None:
    adata = counts_adata()
    adata.obs["donor"] = adata.obs["donor"].astype(str)
    adata.obs.iloc[:3, adata.obs.columns.get_loc("donor")] = "lonely"
    cfg = write_config(tmp_path, adata)
    assert cli("preprocess", "--config", str(cfg), "--dataset", "d", cwd=tmp_path).returncode == 0
    proc = cli("splits", "--config", str(cfg), "--dataset", "d", cwd=tmp_path)
    assert_one_line_error(proc, "adata.h5ad", "obs['batch']", "'lonely'")
    assert not list(tmp_path.rglob("splits.json"))


def test_unknown_model_and_genes_fewer_than_the_grid(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, counts_adata(n_genes=40))
    proc = cli(
        "train", "--config", str(cfg), "--dataset", "d", "--model", "scvi", "--fold", "1", cwd=tmp_path
    )
    assert_one_line_error(proc, "cfg.yaml", "model", "scmedalfe")
    assert cli("preprocess", "--config", str(cfg), "--dataset", "d", cwd=tmp_path).returncode == 0
    assert cli("splits", "--config", str(cfg), "--dataset", "d", cwd=tmp_path).returncode == 0
    proc = cli("genomap", "--config", str(cfg), "--dataset", "d", "--map", "0", cwd=tmp_path)
    assert_one_line_error(proc, "adata.h5ad", "genomap.grid", "10 x 10")
    assert not list(tmp_path.rglob("genomap_*"))


def test_help_lists_every_stage(tmp_path: Path) -> None:
    proc = cli("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for stage in (
        "demo-data",
        "preprocess",
        "splits",
        "train",
        "pca",
        "scores",
        "aggregate",
        "compare",
        "counterfactuals",
        "umap",
        "genomap",
        "genomap-stats",
        "mec",
        "mec-aggregate",
    ):
        assert stage in proc.stdout


def test_umap_loads_without_the_frameworks_and_caches_its_numba_code() -> None:
    """The umap stage's import skips ParametricUMAP (TensorFlow, Keras, torch) and turns on Numba's
    on-disk cache for umap's jitted functions; ``umap.UMAP`` is the real class."""
    code = (
        "import sys\n"
        "from snakelab.scmedal.umap_stage import import_umap\n"
        "umap = import_umap()\n"
        "from umap.layouts import _nb_optimize_layout_euclidean_single_epoch as f\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules),"
        " umap.UMAP.__module__, type(f._cache).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=tool_env(), capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "umap.umap_", "FunctionCache"]
