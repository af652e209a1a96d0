"""TFRecords round trip (spec §7; acceptance test 5) and dataset storage = memory storage (test 6)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from snakelab.imnn import aggregated, dataset, fisher, networks, problems, tfrecords  # noqa: E402


def _features(path: Path) -> list[dict]:
    tf = tfrecords.tensorflow()
    out = []
    for raw in tf.data.TFRecordDataset([str(path)]).as_numpy_iterator():
        example = tf.train.Example.FromString(raw)
        out.append({k: v for k, v in example.features.feature.items()})
    return out


def _check_shards(directory: Path, name: str, entry: dict) -> None:
    files = sorted(directory.glob(f"{name}_*.tfrecords"))
    assert [f.name for f in files] == [f"{name}_{k:05d}.tfrecords" for k in range(len(files))]
    assert len(files) == len(entry["shards"]) > 1
    for k, (path, shard) in enumerate(zip(files, entry["shards"], strict=True)):
        size = path.stat().st_size
        assert size == shard["bytes"] and shard["n_records"] > 0
        if k < len(files) - 1:
            last = size // shard["n_records"]  # records of one set have equal size
            assert size > 1000 >= size - last
    assert not list(directory.glob(".*.tmp"))


def test_round_trip_fiducial_gradient_numerical(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    fid = rng.normal(size=(50, 4, 3)).astype(np.float32)
    grad = rng.normal(size=(50, 4, 3, 2)).astype(np.float32)
    num = rng.normal(size=(10, 2, 2, 4, 3)).astype(np.float32)
    e_f = tfrecords.write_records(tmp_path, "fiducial", "fiducial", fid, record_size=0.001)
    e_g = tfrecords.write_records(tmp_path, "derivative", "derivative", grad, n_params=2, record_size=0.001)
    e_n = tfrecords.write_records(
        tmp_path, "numerical", "numerical_derivative", num, n_params=2, record_size=0.001
    )
    for name, entry in (("fiducial", e_f), ("derivative", e_g), ("numerical", e_n)):
        _check_shards(tmp_path, name, entry)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["fiducial"]["input_shape"] == [4, 3] and manifest["numerical"]["n_sims"] == 10
    np.testing.assert_array_equal(tfrecords.read_array(tmp_path, "fiducial"), fid)
    np.testing.assert_array_equal(tfrecords.read_array(tmp_path, "derivative"), grad)
    np.testing.assert_array_equal(tfrecords.read_array(tmp_path, "numerical"), num)
    # features: seed by simulation; numerical records by seed, then derivative 0→1, then parameter
    records = [r for s in e_n["shards"] for r in _features(tmp_path / s["file"])]
    order = [
        (
            r["seed"].int64_list.value[0],
            r["derivative"].int64_list.value[0],
            r["parameter"].int64_list.value[0],
        )
        for r in records
    ]
    assert order == [(i, d, p) for i in range(10) for d in range(2) for p in range(2)]
    first = _features(tmp_path / e_f["shards"][0]["file"])[0]
    assert first["seed"].int64_list.value[0] == 0
    assert first["data"].bytes_list.value[0] == fid[0].astype("<f4").tobytes()


def test_reference_feature_spec_decodes_the_shards(tmp_path: Path) -> None:
    tf = tfrecords.tensorflow()
    data = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    tfrecords.write_records(tmp_path, "fiducial", "fiducial", data)
    spec = {"data": tf.io.FixedLenFeature([], tf.string)}
    ds = tf.data.TFRecordDataset([str(tmp_path / "fiducial_00000.tfrecords")])
    parsed = [tf.io.decode_raw(tf.io.parse_single_example(r, spec)["data"], tf.float32).numpy() for r in ds]
    np.testing.assert_array_equal(np.stack(parsed).reshape(data.shape), data)


def test_derivatives_need_n_params(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_params is required"):
        tfrecords.write_records(tmp_path, "derivative", "derivative", np.zeros((2, 3, 2), np.float32))


def test_dataset_mode_equals_memory_mode(tmp_path: Path) -> None:
    """Numerical mode: F and gradient from TFRecords batches equal the in-memory values."""
    n_s, n_d, batch = 32, 16, 8
    rng = np.random.default_rng(1)
    fid = rng.normal(size=(n_s, 10)).astype(np.float32)
    num = (fid[:n_d, None, None, :] + rng.normal(scale=0.1, size=(n_d, 2, 2, 10))).astype(np.float32)
    tfrecords.write_records(tmp_path / "fiducial", "fiducial", "fiducial", fid, record_size=0.002)
    tfrecords.write_records(
        tmp_path / "derivative", "derivative", "numerical_derivative", num, 2, record_size=0.002
    )
    init, apply = networks.mlp(2, hidden=(8,), activation="softplus")
    w = init(jax.random.PRNGKey(0), (10,))
    a = fisher.alpha(10.0, 0.1)
    delta = jnp.asarray([0.1, 0.1])
    train = jax.jit(problems.memory_train(apply, "numerical", 10.0, a, delta_theta=delta))
    loss_m, grad_m, aux_m = train(
        w, jnp.asarray(0), {"fiducial": jnp.asarray(fid), "derivative": jnp.asarray(num)}
    )
    source = dataset.tfrecord_source(tmp_path, "fiducial", "derivative", n_s, n_d, batch, cache="none")
    agg = aggregated.Aggregator(*aggregated.batch_functions(apply, "numerical", delta_theta=delta), 10.0, a)
    for _ in range(2):  # each call consumes exactly one epoch per pass
        loss_d, grad_d, aux_d = agg.loss_and_grad(w, source, 0)
        np.testing.assert_allclose(aux_d.F, aux_m.F, rtol=1e-5)
        np.testing.assert_allclose(loss_d, loss_m, rtol=1e-5)
        for g_d, g_m in zip(
            jax.tree_util.tree_leaves(grad_d), jax.tree_util.tree_leaves(grad_m), strict=True
        ):
            np.testing.assert_allclose(g_d, g_m, rtol=1e-5, atol=1e-6)
