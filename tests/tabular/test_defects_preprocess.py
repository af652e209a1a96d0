"""AIQC defects D2 and D6 (splits/seeds part), spec §12: one test each."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import snakelab.tabular
from snakelab.store import models
from snakelab.store.core import Store, open_store
from snakelab.tabular import seeds
from snakelab.tabular.datasets import Dataset
from snakelab.tabular.preprocess.fit import load_preprocess, prepare_fold
from snakelab.tabular.splits import StratifierSpec, create_splitset

OHE = {"class": "sklearn.preprocessing.OneHotEncoder", "params": {}}
SCALER = {"class": "sklearn.preprocessing.StandardScaler", "params": {}, "dtypes": ["float64"]}
STRATIFIER = {"size_test": 0.22, "fold_count": 5}


def _store(directory: Path) -> Store:
    return open_store(
        f"sqlite:///{directory / 'store.sqlite'}", create=True, config={"data_dir": str(directory / "data")}
    )


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SNAKELAB_STORE_URL", raising=False)
    opened = _store(tmp_path)
    yield opened
    opened.dispose()


def _iris_split(store: Store, output: Path, seed: int = 0) -> dict:
    iris = Dataset.tabular("sklearn:iris", name="iris", store=store)
    target = (iris, {"column": "species", "encoder": OHE})
    return create_splitset(
        store, "iris_ohe", [(iris, {"encoders": [SCALER]})], target, STRATIFIER, seed=seed, output=output
    )


def test_d2_windowed_scaler_is_not_fit_on_all_rows(store: Store) -> None:
    """AIQC fit the windowed feature's scaler on 100 of 100 rows (mean_ 49.5), not on the train windows."""
    series = Dataset.tabular(pd.DataFrame({"x": np.arange(100, dtype=np.float64)}), name="ramp", store=store)
    inputs = {"window": {"size_window": 10, "size_shift": 5}, "encoders": [SCALER]}
    info = create_splitset(
        store,
        "ramp",
        [(series, inputs)],
        None,
        {"size_test": 0.2, "size_validation": 0.2},
        output=Path("ramp/splits.json"),
    )
    window = info["window"]
    rows = sorted(
        {
            r
            for i in info["samples"]["train"]
            for a, b in (window["samples_unshifted"][i], window["samples_shifted"][i])
            for r in range(a, b)
        }
    )
    scaler = load_preprocess(prepare_fold(store, "ramp/splits.json", "no_fold").parent / "preprocess.joblib")
    scaler = scaler["features"][0]["coders"][0]["fitted"]
    assert window["window_count"] == 18 and len(info["samples"]["train"]) == 10
    assert scaler.n_samples_seen_ == len(rows) < 100
    assert scaler.mean_[0] == pytest.approx(np.mean(rows), rel=1e-12) and scaler.mean_[0] != 49.5


def test_d6_two_split_runs_write_byte_identical_splits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AIQC drew splits and folds from unseeded, unstored random states."""
    monkeypatch.chdir(tmp_path)
    files = []
    for run in ("a", "b"):
        directory = tmp_path / run
        directory.mkdir()
        store = _store(directory)
        _iris_split(store, directory / "splits.json")
        _iris_split(store, directory / "again.json")
        store.dispose()
        files += [directory / "splits.json", directory / "again.json"]
    contents = {f.read_bytes() for f in files}
    assert len(contents) == 1


def test_d6_seeds_are_stored_and_change_the_samples(store: Store) -> None:
    zero = _iris_split(store, Path("zero/splits.json"), seed=0)
    one = _iris_split(store, Path("one/splits.json"), seed=1)
    assert zero["samples"]["test"] != one["samples"]["test"]
    assert zero["folds"][0]["samples"] != one["folds"][0]["samples"]
    assert zero["splitset_id"] != one["splitset_id"]
    strat = StratifierSpec.from_mapping(STRATIFIER).hash
    for info, seed in ((zero, 0), (one, 1)):
        expected = (
            seeds.split_seed(seed, "iris", "species", strat),
            seeds.fold_seed(seed, "iris", "species", strat),
        )
        assert (info["seeds"]["split_seed"], info["seeds"]["fold_seed"]) == expected
        with store.read() as session:
            row = session.get(models.Splitset, info["splitset_id"])
            assert row.split_seed is not None and row.fold_seed is not None
            assert (row.split_seed, row.fold_seed) == expected


#: the numpy.random names that do not draw from the legacy global state.
ALLOWED_NUMPY_RANDOM = {
    "default_rng",
    "SeedSequence",
    "Generator",
    "PCG64",
    "PCG64DXSM",
    "Philox",
    "SFC64",
    "BitGenerator",
}


def _random_calls(path: Path) -> list[str]:
    """Calls of ``random.*`` or legacy ``numpy.random.*`` functions in one source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        parts, func = [], node.func
        while isinstance(func, ast.Attribute):
            parts.insert(0, func.attr)
            func = func.value
        if not isinstance(func, ast.Name):
            continue
        dotted = ".".join([aliases.get(func.id, func.id), *parts])
        legacy = dotted.startswith("numpy.random.") and dotted.rsplit(".", 1)[-1] not in ALLOWED_NUMPY_RANDOM
        if dotted.startswith("random.") or legacy:
            found.append(f"{path.name}:{node.lineno}: {dotted}")
    return found


def test_d6_no_unseeded_random_calls_under_tabular(tmp_path: Path) -> None:
    root = Path(snakelab.tabular.__file__).parent
    sources = sorted(root.rglob("*.py"))
    assert len(sources) >= 10
    assert [call for source in sources for call in _random_calls(source)] == []
    bad = tmp_path / "bad.py"
    lines = [
        "import random",
        "import numpy as np",
        "from numpy.random import shuffle",
        "random.random()",
        "np.random.seed(1)",
        "shuffle([])",
        "np.random.default_rng(0)",
    ]
    bad.write_text("\n".join(lines) + "\n")
    assert [c.split(": ")[1] for c in _random_calls(bad)] == [
        "random.random",
        "numpy.random.seed",
        "numpy.random.shuffle",
    ]
