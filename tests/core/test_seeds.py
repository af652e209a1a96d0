import numpy as np
import pytest

from snakelab.core.seeds import integer_seed, rng, seed_sequence


def test_seed_sequence_is_entropy_plus_spawn_key() -> None:
    ss = seed_sequence(7, 0, 1, 2, 3)
    assert ss.entropy == 7
    assert ss.spawn_key == (0, 1, 2, 3)
    expected = np.random.default_rng(np.random.SeedSequence(entropy=7, spawn_key=(0, 1, 2, 3))).random(5)
    np.testing.assert_array_equal(rng(7, 0, 1, 2, 3).random(5), expected)


def test_same_coordinates_same_stream_other_coordinates_other_stream() -> None:
    a = rng(0, 1, 2).standard_normal(1000)
    assert np.array_equal(a, rng(0, 1, 2).standard_normal(1000))
    for other in (rng(0, 1, 3), rng(0, 2, 2), rng(1, 1, 2), rng(0, 1, 2, 0)):
        b = other.standard_normal(1000)
        assert not np.array_equal(a, b)
        # independent streams: sample correlation of 1000 pairs stays within ~4 standard errors
        assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(1000)


def test_integer_seed_is_stable_32_bit() -> None:
    s = integer_seed(0, 3, 1)
    assert s == integer_seed(0, 3, 1)
    assert 0 <= s < 2**32
    assert s != integer_seed(0, 3, 2)
    assert s == int(np.random.SeedSequence(0, spawn_key=(3, 1)).generate_state(1, dtype=np.uint32)[0])


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_seed_or_coordinate_is_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        seed_sequence(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative integers"):
        seed_sequence(0, 1, bad)  # type: ignore[arg-type]
