"""§15.5: U-Net output shapes, analytic and by a dummy forward pass; invalid inputs say which sizes work."""

from __future__ import annotations

import pytest

from snakelab.segment.shapes import ShapeError, check_architecture, compute_output_shape, valid_sizes

BENCH = {"num_fmaps": 4, "fmaps_out": 4, "fmap_inc_factor": 2, "downsample_factors": [[2, 2, 2]]}
TWO = {**BENCH, "num_fmaps": 2, "fmaps_out": 2, "downsample_factors": [[2, 2, 2]] * 2}
THREE = {**BENCH, "num_fmaps": 1, "fmaps_out": 1, "fmap_inc_factor": 1, "downsample_factors": [[2, 2, 2]] * 3}


def forward_shape(arch: dict, shape: tuple[int, ...]) -> tuple[int, ...]:
    import torch

    from snakelab.segment.unet import Model

    torch.manual_seed(0)
    model = Model(arch, 1).eval()
    with torch.no_grad():
        return tuple(model(torch.zeros(1, 1, *shape)).shape[2:])


@pytest.mark.parametrize(
    ("arch", "shape", "expected"),
    [
        (BENCH, (20, 44, 44), (4, 28, 28)),
        (BENCH, (24, 52, 52), (8, 36, 36)),
        (BENCH, (40, 40, 40), (24, 24, 24)),
        (BENCH, (48, 48, 48), (32, 32, 32)),
        (TWO, (44, 44, 44), (4, 4, 4)),
        (THREE, (132, 132, 132), (40, 40, 40)),
        ({**BENCH, "padding": "same"}, (40, 40, 40), (40, 40, 40)),
        ({**BENCH, "constant_upsample": False}, (20, 44, 44), (4, 28, 28)),
        ({**BENCH, "upsample_factors": [[1, 2, 2]]}, (20, 44, 44), (4, 56, 56)),
    ],
)
def test_output_shape_matches_forward(arch: dict, shape: tuple[int, ...], expected: tuple[int, ...]) -> None:
    assert compute_output_shape(arch, shape)[1] == expected
    assert forward_shape(arch, shape) == expected


def test_eval_shape_and_context_of_the_bench_and_demo_nets() -> None:
    bench = check_architecture({**BENCH, "input_shape": [20, 44, 44], "eval_shape_increase": [4, 8, 8]})
    assert bench["eval_output_shape"] == (8, 36, 36)
    demo = check_architecture(
        {**BENCH, "num_fmaps": 8, "input_shape": [40, 40, 40], "eval_shape_increase": [8] * 3}
    )
    assert demo["eval_output_shape"] == (32, 32, 32)
    assert demo["context"] == (8, 8, 8)


def test_invalid_size_names_shape_factor_level_and_valid_sizes() -> None:
    assert valid_sizes(TWO, 0, 44) == [44, 48, 52, 56]
    with pytest.raises(ShapeError) as info:
        compute_output_shape(TWO, (45, 44, 44))
    message = str(info.value)
    assert "45" in message and "factor 2" in message and "level 0" in message and "44, 48, 52" in message


def test_eval_increase_must_be_a_multiple_of_the_total_factor() -> None:
    with pytest.raises(ShapeError, match="multiple of the total downsample factor"):
        check_architecture({**TWO, "input_shape": [44, 44, 44], "eval_shape_increase": [2, 0, 0]})


def test_scale_divides_the_voxel_size_by_the_upsample_factors() -> None:
    from snakelab.segment.shapes import scale

    assert scale({**BENCH, "upsample_factors": [[1, 2, 2], [1, 2, 1]]}, (40, 8, 8)) == (40, 2, 4)
