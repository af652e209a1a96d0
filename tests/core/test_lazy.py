import pytest

from snakelab.core.lazy import lazy_exports


def test_names_resolve_on_first_access_only() -> None:
    getattr_, dir_ = lazy_exports("pkg", {"dumps": "json", "JSONDecoder": "json.decoder"}, {"x": 1})
    assert getattr_("dumps")({"a": 1}) == '{"a": 1}'
    assert getattr_("JSONDecoder").__name__ == "JSONDecoder"
    assert dir_() == ["JSONDecoder", "dumps", "x"]
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'nope'"):
        getattr_("nope")
