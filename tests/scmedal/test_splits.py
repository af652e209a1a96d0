"""Spec §14.2: cross-validation splits."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from snakelab.core.errors import InputError
from snakelab.scmedal.splits import make_splits, merge_rare


def _labels(seed: int = 0, n: int = 400):
    rng = np.random.default_rng(seed)
    batch = rng.choice(["b1", "b2", "b3", "b4", "b5", "b6"], n)
    celltype = rng.choice(["T", "B", "NK", "Mono", "DC"], n, p=[0.4, 0.3, 0.15, 0.12, 0.03])
    return [f"c{i}" for i in range(n)], batch.astype(object), celltype.astype(object)


def test_cell_splits_partition_and_stratify() -> None:
    names, batch, celltype = _labels()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc = make_splits(names, batch, celltype, "cells", 5, 42)
    strata = merge_rare(batch, celltype, 5)
    tests = []
    for k in range(1, 6):
        f = {s: np.asarray(v) for s, v in doc["folds"][str(k)].items()}
        allrows = np.concatenate(list(f.values()))
        assert np.array_equal(np.sort(allrows), np.arange(len(names)))  # disjoint, union = all
        for s in f:
            assert np.all(np.diff(f[s]) > 0)
            assert set(batch[f[s]]) == set(batch)  # every batch in every subset
        tests.append(f["test"])
        assert np.array_equal(doc["folds"][str(k)]["val"], doc["folds"][str(k % 5 + 1)]["test"])
    for s in np.unique(strata):
        n_s = int((strata == s).sum())
        for t in tests:
            assert int((strata[t] == s).sum()) in (n_s // 5, -(-n_s // 5))


def test_batches_mode_holds_batches_out() -> None:
    names, batch, celltype = _labels()
    doc = make_splits(names, batch, celltype, "batches", 3, 42)
    for k in range(1, 4):
        f = doc["folds"][str(k)]
        assert not set(batch[f["test"]]) & set(batch[f["train"]])
        assert sorted(np.concatenate([f["train"], f["val"], f["test"]])) == list(range(len(names)))


def test_splits_json_is_byte_identical_on_rerun() -> None:
    names, batch, celltype = _labels()
    a = json.dumps(make_splits(names, batch, celltype, "cells", 5, 42))
    b = json.dumps(make_splits(names, batch, celltype, "cells", 5, 42))
    assert a == b
    assert a != json.dumps(make_splits(names, batch, celltype, "cells", 5, 7))


def test_too_few_cells_name_the_batch_and_the_cell_type() -> None:
    names, batch, celltype = _labels(n=100)
    batch[:3] = "tiny"
    batch[3:] = np.where(batch[3:] == "tiny", "b1", batch[3:])
    with pytest.raises(InputError, match="'tiny'"):
        make_splits(names, batch, celltype, "cells", 5, 42)
    names, batch, celltype = _labels(n=300)
    celltype[:2] = "rare"
    with pytest.raises(InputError, match=r"celltype.*'rare'"):
        make_splits(names, batch, celltype, "cells", 5, 42)
