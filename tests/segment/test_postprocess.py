"""Post-processing grids, mutex watershed, threshold, argmax (spec §4, §11, §15.6; defect §12.2)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from snakelab.core.errors import InputError
from snakelab.segment.postprocess import (
    TASK_VALUE_RANGES,
    argmax,
    bias_grid,
    decode,
    encode_uint8,
    find_parameters,
    mutex_watershed,
    parameter_grid,
    postprocess,
    relabel_sequential,
    remove_small_segments,
    threshold,
    threshold_grid,
    validate_thresholds,
)
from snakelab.segment.targets import affinities

NEIGHBORHOOD = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


def test_grid_keys() -> None:
    assert [p.key for p in bias_grid()] == ["bias_0.10", "bias_0.25", "bias_0.50", "bias_0.75", "bias_0.90"]
    assert [p.key for p in threshold_grid()] == [
        "threshold_-0.50",
        "threshold_-0.25",
        "threshold_0.00",
        "threshold_0.25",
        "threshold_0.50",
    ]
    assert threshold_grid([-0.0])[0].key == "threshold_0.00"
    # §12.6: keys are plain names (the reference used repr() with spaces and parentheses as names)
    for task in ({"type": "affinities"}, {"type": "distance"}, {"type": "one_hot"}):
        assert all(re.fullmatch(r"[a-z]+(_-?[0-9]+\.[0-9]{2})?", p.key) for p in parameter_grid(task))
    assert bias_grid([0.5])[0].values == {"bias": 0.5}
    assert [p.key for p in parameter_grid({"type": "one_hot"})] == ["argmax"]
    assert [p.key for p in parameter_grid({"type": "distance", "thresholds": [0.1]})] == ["threshold_0.10"]
    assert find_parameters({"type": "affinities"}, "bias_0.75").values == {"bias": 0.75}
    with pytest.raises(InputError, match=r"parameter: expected one of \['bias_0.10'"):
        find_parameters({"type": "affinities"}, "bias_0.3")
    with pytest.raises(ValueError, match="duplicate keys"):
        bias_grid([0.1, 0.1001])


def test_thresholds_outside_the_value_range_are_rejected() -> None:
    # §12.2: the reference's threshold 127 on (−1, 1) predictions gives empty masks (dice 0, f1/voi NaN)
    with pytest.raises(InputError) as error:
        validate_thresholds(
            [0.0, 127], TASK_VALUE_RANGES["distance"], "config.yaml", "segment.tasks.dist.thresholds"
        )
    assert str(error.value) == (
        "config.yaml: segment.tasks.dist.thresholds: "
        "expected thresholds inside the prediction range (-1, 1), found [127.0]"
    )
    for bad in (1.0, -1.0):
        with pytest.raises(InputError):
            validate_thresholds([bad], (-1.0, 1.0))
    validate_thresholds([-0.99, 0.0, 0.5], (-1.0, 1.0))


def test_threshold_on_float_and_uint8_predictions_agree() -> None:
    rng = np.random.default_rng(1)
    prediction = rng.uniform(-1, 1, size=(2, 5, 6, 7)).astype(np.float32)
    stored = encode_uint8(prediction, (-1, 1))
    np.testing.assert_allclose(decode(stored, (-1, 1)), prediction, atol=1 / 255 + 1e-7)
    for t in threshold_grid():
        value = t.values["threshold"]
        expected = (prediction > value).astype(np.uint8)
        from_float = threshold(prediction, value)
        from_uint8 = postprocess({"type": "distance"}, stored, t)
        assert from_float.dtype == from_uint8.dtype == np.uint8 and from_float.shape == (2, 5, 6, 7)
        np.testing.assert_array_equal(from_float, expected)
        # uint8 quantisation can only flip voxels within half a step (1/255) of the threshold
        far = np.abs(prediction - value) > 1 / 255
        np.testing.assert_array_equal(from_uint8[far], expected[far])
    assert encode_uint8(np.array([-1.0, 0.0, 1.0]), (-1, 1)).tolist() == [0, 128, 255]


def test_mutex_watershed_acceptance_row() -> None:
    affs = np.zeros((3, 1, 1, 4))
    affs[2, 0, 0] = [0.9, 0.2, 0.9, 0.0]
    np.testing.assert_array_equal(
        mutex_watershed(affs, NEIGHBORHOOD, 0.5, min_segment_size=1), [[[1, 1, 2, 2]]]
    )
    np.testing.assert_array_equal(
        mutex_watershed(affs, NEIGHBORHOOD, 0.1, min_segment_size=1), [[[1, 1, 1, 1]]]
    )
    segmentation = mutex_watershed(affs, NEIGHBORHOOD, 0.5, min_segment_size=3)
    assert segmentation.dtype == np.uint64 and segmentation.sum() == 0


def test_mutex_watershed_on_two_blobs() -> None:
    labels = np.zeros((8, 12, 12), np.uint64)
    labels[1:7, 1:6, 1:6] = 7
    labels[2:6, 6:11, 5:11] = 3  # touches blob 7 along y (face contact) but is a different object
    rng = np.random.default_rng(0)
    affs = np.clip(affinities(labels, NEIGHBORHOOD) + rng.normal(0, 0.1, (3, *labels.shape)), 0, 1)
    segmentation = mutex_watershed(affs, NEIGHBORHOOD, 0.5, min_segment_size=10)
    assert set(np.unique(segmentation).tolist()) == {0, 1, 2}
    # relabelled in C-order of first occurrence: blob 7 starts first
    np.testing.assert_array_equal(segmentation, np.select([labels == 7, labels == 3], [1, 2], 0))
    # uint8-stored affinities give the same segmentation; the result does not depend on the run
    stored = encode_uint8(affs, (0, 1))
    np.testing.assert_array_equal(mutex_watershed(stored, NEIGHBORHOOD, 0.5), segmentation)
    task = {"type": "affinities", "neighborhood": NEIGHBORHOOD, "min_segment_size": 10}
    np.testing.assert_array_equal(postprocess(task, affs, bias_grid([0.5])[0]), segmentation)
    # a bias below every affinity makes every edge attractive: one segment
    merged = mutex_watershed(affinities(labels, NEIGHBORHOOD) * 0.5 + 0.25, NEIGHBORHOOD, 0.1)
    np.testing.assert_array_equal(merged, 1)


def test_relabel_and_small_segment_removal() -> None:
    segmentation = np.array([[5, 0, 3, 3], [5, 9, 3, 2]], np.uint64)
    np.testing.assert_array_equal(relabel_sequential(segmentation), [[1, 0, 2, 2], [1, 3, 2, 4]])
    np.testing.assert_array_equal(remove_small_segments(segmentation, 2), [[5, 0, 3, 3], [5, 0, 3, 0]])
    assert relabel_sequential(segmentation).dtype == np.uint64


def test_argmax() -> None:
    prediction = np.array([[[0.1, 0.7]], [[0.8, 0.2]], [[0.1, 0.1]]])
    result = argmax(prediction)
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, [[1, 0]])
    np.testing.assert_array_equal(
        postprocess({"type": "one_hot"}, prediction, parameter_grid({"type": "one_hot"})[0]), result
    )
