import hashlib

import pytest

from snakelab.core.config_hash import canonical_json, config_hash, run_name


def test_hash_ignores_key_order_and_matches_sha256_of_canonical_json() -> None:
    a = {"seed": 0, "model": {"name": "SparseDrugCombo", "params": {"a0": 1.1, "b0": 1.1}}}
    b = {"model": {"params": {"b0": 1.1, "a0": 1.1}, "name": "SparseDrugCombo"}, "seed": 0}
    text = '{"model":{"name":"SparseDrugCombo","params":{"a0":1.1,"b0":1.1}},"seed":0}'
    assert canonical_json(a) == canonical_json(b) == text
    assert config_hash(a) == config_hash(b) == hashlib.sha256(text.encode()).hexdigest()[:10]
    assert run_name("unmasked_screen", a) == f"unmasked_screen-{config_hash(a)}"


def test_any_change_changes_the_hash() -> None:
    base = {"seed": 0, "arms": ["pdbal", "random"], "x": None}
    assert config_hash(base) != config_hash({**base, "seed": 1})
    assert config_hash(base) != config_hash({**base, "arms": ["random", "pdbal"]})
    assert config_hash(base) != config_hash({**base, "x": False})
    assert config_hash({"a": 1}) != config_hash({"a": 1.5})
    assert len(config_hash(base, length=64)) == 64


def test_unhashable_values_name_the_key() -> None:
    with pytest.raises(ValueError, match=r"config\.lr: .*finite"):
        config_hash({"lr": float("nan")})
    with pytest.raises(TypeError, match=r"config\.obj\[0\]: .*set"):
        config_hash({"obj": [{1, 2}]})
