from typing import Literal

import pytest

from snakelab.batchie.registry import build, cast_value, parse_params
from snakelab.core.errors import InputError


class Toy:
    def __init__(
        self,
        max_triples: int | None = 5000,
        distance_factor: float = 1.0,
        exact: bool = False,
        mode: Literal["all", "unobserved"] = "all",
        names: list[str] | None = None,
    ) -> None:
        self.max_triples, self.distance_factor, self.exact = max_triples, distance_factor, exact
        self.mode, self.names = mode, names


class NeedsK:
    def __init__(self, k: int) -> None:
        self.k = k


REGISTRY = {"Toy": Toy, "NeedsK": NeedsK}


def test_strings_from_the_command_line_are_cast_by_type() -> None:
    params = parse_params(
        ["max_triples=100", "exact=yes", "distance_factor=0.5", "names=a,b"], None, "--scorer-param"
    )
    toy = build(REGISTRY, "scorer", "Toy", params)
    assert (toy.max_triples, toy.distance_factor, toy.exact, toy.names) == (100, 0.5, True, ["a", "b"])
    assert build(REGISTRY, "scorer", "Toy", {"max_triples": "null"}).max_triples is None
    assert build(REGISTRY, "scorer", "Toy", {}).max_triples == 5000


def test_json_params_keep_types_and_key_values_override_them() -> None:
    params = parse_params(
        ["exact=0"], '{"exact": true, "max_triples": null, "mode": "unobserved"}', "--x-param"
    )
    toy = build(REGISTRY, "scorer", "Toy", params)
    assert (toy.exact, toy.max_triples, toy.mode) == (False, None, "unobserved")


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("Nope", {}, r"^--scorer: expected one of NeedsK, Toy, found 'Nope'$"),
        ("Toy", {"max_tripels": "3"}, r"Toy has no parameter 'max_tripels' \(allowed: max_triples, "),
        ("Toy", {"exact": "maybe"}, r"^--scorer-param exact: expected true/false/1/0/yes/no"),
        ("Toy", {"max_triples": "many"}, r"^--scorer-param max_triples: expected an int, found 'many'$"),
        ("Toy", {"max_triples": 2.5}, r"expected an int, found 2.5"),
        ("Toy", {"mode": "some"}, r"expected one of all, unobserved, found 'some'"),
        ("Toy", {"distance_factor": "none"}, r"expected a float, found none"),
        ("NeedsK", {}, r"^--scorer-param: NeedsK needs k$"),
    ],
)
def test_bad_names_and_values_fail_with_the_allowed_ones(name: str, params: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        build(REGISTRY, "scorer", name, params)


@pytest.mark.parametrize("bad", [["max_triples"], ["=3"]])
def test_malformed_key_value(bad: list[str]) -> None:
    with pytest.raises(InputError, match="expected KEY=VALUE"):
        parse_params(bad, None, "--scorer-param")


def test_bad_json() -> None:
    with pytest.raises(InputError, match=r"^--scorer-params-json: expected a JSON object"):
        parse_params(None, "[1, 2]", "--scorer-param")
    with pytest.raises(InputError, match=r"^--scorer-params-json: expected a JSON object \("):
        parse_params(None, "{", "--scorer-param")


def test_cast_value_bool_is_not_an_int() -> None:
    with pytest.raises(InputError):
        cast_value(True, int, "k")
    assert cast_value("3", int, "k") == 3
