"""The universe of a screen: every (treatment name, dose) pair and sample name, with its integer id.

Id rules (spec §2.1), applied identically on construction and on load:

- treatments are (name, dose) pairs; a pair is a *control* iff ``dose <= 0`` or
  ``name == control_treatment_name``, and every control has id −1;
- without a given universe, the distinct pairs of the rows are sorted by (name as a Python string,
  dose ascending) and the non-controls get 0..M−1 in that order (id = rank − controls before it);
- without a given universe, samples get 0..C−1 in sorted-name order;
- a given universe (a screen's stored mappings) fixes the ids: its non-control ids must be
  0..M−1 once each, its controls −1, its sample ids 0..C−1 once each. Control pairs of the rows
  missing from it are added with id −1; any other pair or sample missing from it is an error.

Everything is vectorised with ``np.unique`` (strings grouped by hash first, see
:func:`unique_strings`); no Python loop runs over rows. Only numpy is imported.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from snakelab.core.errors import InputError

_ABSENT = -2  # lookup marker for "pair not in the universe"; real ids are >= -1


def as_strings(values: ArrayLike, field: str, ndim: int) -> np.ndarray:
    """Return ``values`` as a fresh numpy unicode array with ``ndim`` dimensions.

    Accepts sequences of ``str``, unicode arrays, UTF-8 byte arrays (``S``, as h5py reads them)
    and object arrays of ``str``. Raises :class:`InputError` naming ``field`` otherwise.
    """
    try:
        arr = np.asarray(values)
    except ValueError:
        raise InputError(None, field, "expected a rectangular array of strings") from None
    if arr.dtype.kind == "S":
        try:
            arr = decode_utf8(arr)
        except UnicodeDecodeError:
            raise InputError(None, field, "expected UTF-8 strings, found undecodable bytes") from None
    elif arr.dtype.kind == "O":
        if not all(isinstance(value, str) for value in arr.ravel()):
            raise InputError(None, field, "expected strings, found non-string objects")
        arr = arr.astype(str)
    elif arr.dtype.kind != "U":
        raise InputError(None, field, f"expected strings, found dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise InputError(None, field, f"expected a {ndim}-D array, found shape {arr.shape}")
    return np.array(arr, copy=True)


def as_floats(values: ArrayLike, field: str, ndim: int) -> np.ndarray:
    """Return ``values`` as a fresh float64 array with ``ndim`` dimensions.

    The input must already have a floating dtype (integers are rejected: a dose or viability
    stored as integers is a sign of a wrong column). Raises :class:`InputError` naming ``field``.
    """
    try:
        arr = np.asarray(values)
    except ValueError:
        raise InputError(None, field, "expected a rectangular array of floats") from None
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(None, field, f"expected floating-point values, found dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise InputError(None, field, f"expected a {ndim}-D array, found shape {arr.shape}")
    return np.array(arr, dtype=np.float64, copy=True)


def as_ids(values: ArrayLike, field: str) -> np.ndarray:
    """Return ``values`` as a fresh 1-D int64 array; raise :class:`InputError` unless integer."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise InputError(None, field, f"expected integer ids, found dtype {arr.dtype}")
    if arr.ndim != 1:
        raise InputError(None, field, f"expected a 1-D array, found shape {arr.shape}")
    return np.array(arr, dtype=np.int64, copy=True)


def treatment_mapping_arrays(
    mapping: Mapping[tuple[str, float], int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unvalidated (names str, doses float64, ids int64) arrays, each (T′,), of ``{(name, dose): id}``."""
    keys = list(mapping)
    return (
        np.array([str(name) for name, _ in keys], dtype=str),
        np.array([float(dose) for _, dose in keys], dtype=np.float64),
        np.fromiter(mapping.values(), dtype=np.int64, count=len(keys)),
    )


def sample_mapping_arrays(mapping: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Unvalidated (names str, ids int64) arrays, each (C,), of a ``{sample_name: id}`` dict."""
    names = np.array([str(name) for name in mapping], dtype=str)
    return names, np.fromiter(mapping.values(), dtype=np.int64, count=len(mapping))


def is_control(names: np.ndarray, doses: np.ndarray, control_treatment_name: str) -> np.ndarray:
    """Bool array (same shape): which (name, dose) pairs are controls (``dose <= 0`` or the control name)."""
    return (doses <= 0) | (names == control_treatment_name)


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def _string_hash(values: np.ndarray) -> np.ndarray:
    """(N,) uint64 FNV-1a hash of each string of a 1-D str (``U``) or bytes (``S``) array, per code unit."""
    unit = np.uint8 if values.dtype.kind == "S" else np.uint32
    units = np.ascontiguousarray(values).view(unit).reshape(values.size, -1)
    hashes = np.full(values.size, _FNV_OFFSET, dtype=np.uint64)
    for column in units.T:
        hashes ^= column
        hashes *= _FNV_PRIME
    return hashes


def unique_strings(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` of a 1-D str or bytes array, without sorting every string.

    Rows are grouped by a 64-bit hash (an integer ``np.unique``, several times faster than sorting
    strings) and only the distinct strings are sorted. The grouping is verified; a hash collision
    falls back to ``np.unique`` on the strings. Returns (sorted distinct strings (u,), inverse (N,) int64).
    """
    if values.size == 0:
        return np.unique(values, return_inverse=True)
    index, groups = _unique_keys(_string_hash(values))
    distinct = values[index]
    if not np.array_equal(distinct[groups], values):
        return np.unique(values, return_inverse=True)
    order = np.argsort(distinct, kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return distinct[order], rank[groups]


def decode_utf8(values: np.ndarray) -> np.ndarray:
    """UTF-8 bytes (``S``, any shape) to str (``U``), decoding each distinct value once."""
    distinct, inverse = unique_strings(values.ravel())
    return np.char.decode(distinct, "utf-8")[inverse].reshape(values.shape)


def encode_utf8(values: np.ndarray) -> np.ndarray:
    """str (``U``, any shape) to fixed-width UTF-8 bytes ``S<maxlen>``, as ``np.char.encode`` gives them."""
    distinct, inverse = unique_strings(values.ravel())
    return np.char.encode(distinct, "utf-8")[inverse].reshape(values.shape)


def unique_pairs(names: np.ndarray, doses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (name, dose) pairs of two 1-D arrays (str, float64), sorted by (name, dose).

    Returns ``(index, inverse)``: ``index`` (u,) int64 points at one occurrence of each distinct pair
    in sorted order; ``inverse`` (N,) int64 gives each element's rank among the distinct pairs.
    """
    _, name_code = unique_strings(names)
    distinct_doses, dose_code = np.unique(doses, return_inverse=True)
    return _unique_keys(name_code * max(distinct_doses.size, 1) + dose_code)


def _unique_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the last occurrence of each distinct key, in key order; inverse), both int64.

    ``np.unique`` without ``return_index`` sorts with quicksort, which is several times faster than
    the stable sort that ``return_index`` needs; any occurrence serves as a representative.
    """
    distinct, inverse = np.unique(keys, return_inverse=True)
    index = np.empty(distinct.size, dtype=np.int64)
    index[inverse] = np.arange(keys.size)
    return index, inverse.astype(np.int64, copy=False)


class ExperimentSpace:
    """The universe of treatments and samples of a screen (its mappings), kept sorted by name.

    Parameters
    ----------
    treatment_names, treatment_doses, treatment_ids:
        (T′,) str, (T′,) float64, (T′,) int64: every distinct (name, dose) pair and its id; controls
        −1, the other M pairs 0..M−1 once each.
    sample_names, sample_ids:
        (C,) str, (C,) int64: every distinct sample name and its id, 0..C−1 once each.
    control_treatment_name:
        The name that marks a control slot whatever its dose.

    Model sizes come from here: ``n_samples`` = C and ``n_treatments`` = M.
    """

    def __init__(
        self,
        treatment_names: ArrayLike,
        treatment_doses: ArrayLike,
        treatment_ids: ArrayLike,
        sample_names: ArrayLike,
        sample_ids: ArrayLike,
        control_treatment_name: str = "",
    ) -> None:
        names = as_strings(treatment_names, "treatment_mapping_names", 1)
        doses = as_floats(treatment_doses, "treatment_mapping_doses", 1)
        ids = as_ids(treatment_ids, "treatment_mapping_ids")
        for field, arr in (("treatment_mapping_doses", doses), ("treatment_mapping_ids", ids)):
            if arr.shape != names.shape:
                raise InputError(
                    None, field, f"expected shape {names.shape} like the names, found {arr.shape}"
                )
        if not np.all(np.isfinite(doses)):
            raise InputError(None, "treatment_mapping_doses", "expected finite doses, found NaN or inf")
        index, inverse = unique_pairs(names, doses)
        if index.size != names.size:
            dup = int(np.flatnonzero(np.bincount(inverse) > 1)[0])
            pair = (str(names[index[dup]]), float(doses[index[dup]]))
            raise InputError(
                None, "treatment_mapping_names", f"expected distinct (name, dose) pairs, found {pair} twice"
            )
        names, doses, ids = names[index], doses[index], ids[index]
        control = is_control(names, doses, control_treatment_name)
        if np.any(ids[control] != -1):
            i = int(np.flatnonzero(control & (ids != -1))[0])
            raise InputError(
                None,
                "treatment_mapping_ids",
                f"expected -1 for control pair {(str(names[i]), float(doses[i]))}, found {ids[i]}",
            )
        _check_permutation(ids[~control], "treatment_mapping_ids")

        snames = as_strings(sample_names, "sample_mapping_names", 1)
        sids = as_ids(sample_ids, "sample_mapping_ids")
        if sids.shape != snames.shape:
            raise InputError(
                None,
                "sample_mapping_ids",
                f"expected shape {snames.shape} like the names, found {sids.shape}",
            )
        unique_names, sample_first = np.unique(snames, return_index=True)
        if unique_names.size != snames.size:
            raise InputError(None, "sample_mapping_names", "expected distinct sample names, found duplicates")
        _check_permutation(sids, "sample_mapping_ids")

        self._treatment_names = _frozen(names)
        self._treatment_doses = _frozen(doses)
        self._treatment_ids = _frozen(ids)
        self._sample_names = _frozen(snames[sample_first])
        self._sample_ids = _frozen(sids[sample_first])
        self._control_treatment_name = str(control_treatment_name)

    @classmethod
    def from_mappings(
        cls,
        treatment_mapping: Mapping[tuple[str, float], int],
        sample_mapping: Mapping[str, int],
        control_treatment_name: str = "",
    ) -> ExperimentSpace:
        """Build from BATCHIE-style dicts: ``{(name, dose): id}`` and ``{sample_name: id}``."""
        return cls(
            *treatment_mapping_arrays(treatment_mapping),
            *sample_mapping_arrays(sample_mapping),
            control_treatment_name=control_treatment_name,
        )

    @classmethod
    def from_rows(
        cls,
        treatment_names: np.ndarray,
        treatment_doses: np.ndarray,
        sample_names: np.ndarray,
        control_treatment_name: str = "",
    ) -> ExperimentSpace:
        """Derive the universe of a screen's rows: names/doses (n, a) str/float64, sample names (n,) str."""
        names, doses = np.ravel(treatment_names), np.ravel(treatment_doses)
        index, _ = unique_pairs(names, doses)
        names, doses = names[index], doses[index]
        control = is_control(names, doses, control_treatment_name)
        ids = np.where(control, -1, np.cumsum(~control) - 1)
        samples, _ = unique_strings(np.ravel(sample_names))
        return cls(names, doses, ids, samples, np.arange(samples.size), control_treatment_name)

    def with_controls(self, treatment_names: np.ndarray, treatment_doses: np.ndarray) -> ExperimentSpace:
        """This space plus the control pairs among the given names/doses (any shape) that it lacks."""
        names, doses = np.ravel(treatment_names), np.ravel(treatment_doses)
        control = is_control(names, doses, self._control_treatment_name)
        known = self._lookup_treatments(names[control], doses[control]) != _ABSENT
        if known.all():
            return self
        new_names, new_doses = names[control][~known], doses[control][~known]
        index, _ = unique_pairs(new_names, new_doses)
        return ExperimentSpace(
            np.concatenate([self._treatment_names, new_names[index]]),
            np.concatenate([self._treatment_doses, new_doses[index]]),
            np.concatenate([self._treatment_ids, np.full(index.size, -1, dtype=np.int64)]),
            self._sample_names,
            self._sample_ids,
            self._control_treatment_name,
        )

    def _lookup_treatments(self, names: np.ndarray, doses: np.ndarray) -> np.ndarray:
        n_universe = self._treatment_names.size
        _, inverse = unique_pairs(
            np.concatenate([self._treatment_names, names]), np.concatenate([self._treatment_doses, doses])
        )
        table = np.full(int(inverse.max(initial=-1)) + 1, _ABSENT, dtype=np.int64)
        table[inverse[:n_universe]] = self._treatment_ids
        return table[inverse[n_universe:]]

    def encode_treatments(self, treatment_names: np.ndarray, treatment_doses: np.ndarray) -> np.ndarray:
        """Ids (int64, same shape as the inputs) of (name, dose) pairs; InputError if a pair is unknown."""
        names, doses = np.ravel(treatment_names), np.ravel(treatment_doses)
        ids = self._lookup_treatments(names, doses)
        missing = np.flatnonzero(ids == _ABSENT)
        if missing.size:
            pair = (str(names[missing[0]]), float(doses[missing[0]]))
            raise InputError(
                None,
                "treatment_names",
                f"expected every (name, dose) pair in the treatment mapping, found {pair}",
            )
        return ids.reshape(np.shape(treatment_names))

    def encode_samples(self, sample_names: np.ndarray) -> np.ndarray:
        """Ids (int64, same shape) of sample names; InputError if a name is not in the sample mapping."""
        names = np.ravel(sample_names)
        _, inverse = unique_strings(np.concatenate([self._sample_names, names]))
        table = np.full(int(inverse.max(initial=-1)) + 1, _ABSENT, dtype=np.int64)
        table[inverse[: self._sample_names.size]] = self._sample_ids
        ids = table[inverse[self._sample_names.size :]]
        missing = np.flatnonzero(ids == _ABSENT)
        if missing.size:
            raise InputError(
                None,
                "sample_names",
                f"expected every sample in the sample mapping, found {str(names[missing[0]])!r}",
            )
        return ids.reshape(np.shape(sample_names))

    @property
    def treatment_names(self) -> np.ndarray:
        """(T′,) str: names of the universe's (name, dose) pairs, sorted by (name, dose)."""
        return self._treatment_names

    @property
    def treatment_doses(self) -> np.ndarray:
        """(T′,) float64: doses of the universe's pairs."""
        return self._treatment_doses

    @property
    def treatment_ids(self) -> np.ndarray:
        """(T′,) int64: ids of the universe's pairs (−1 for controls)."""
        return self._treatment_ids

    @property
    def sample_names(self) -> np.ndarray:
        """(C,) str: sample names, sorted."""
        return self._sample_names

    @property
    def sample_ids(self) -> np.ndarray:
        """(C,) int64: sample ids, aligned with ``sample_names``."""
        return self._sample_ids

    @property
    def control_treatment_name(self) -> str:
        """The control name (``""`` when only doses mark controls)."""
        return self._control_treatment_name

    @property
    def n_treatments(self) -> int:
        """M: number of non-control treatment ids (a model's treatment dimension)."""
        return int(np.count_nonzero(self._treatment_ids >= 0))

    @property
    def n_samples(self) -> int:
        """C: number of samples in the universe."""
        return int(self._sample_names.size)

    @property
    def treatment_mapping(self) -> dict[tuple[str, float], int]:
        """``{(name, dose): id}`` in (name, dose) order, controls included with id −1."""
        return {
            (str(n), float(d)): int(i)
            for n, d, i in zip(self._treatment_names, self._treatment_doses, self._treatment_ids, strict=True)
        }

    @property
    def sample_mapping(self) -> dict[str, int]:
        """``{sample_name: id}`` in name order."""
        return {str(n): int(i) for n, i in zip(self._sample_names, self._sample_ids, strict=True)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExperimentSpace):
            return NotImplemented
        return (
            self._control_treatment_name == other._control_treatment_name
            and np.array_equal(self._treatment_names, other._treatment_names)
            and np.array_equal(self._treatment_doses, other._treatment_doses)
            and np.array_equal(self._treatment_ids, other._treatment_ids)
            and np.array_equal(self._sample_names, other._sample_names)
            and np.array_equal(self._sample_ids, other._sample_ids)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"ExperimentSpace(n_treatments={self.n_treatments}, n_samples={self.n_samples}, "
            f"n_pairs={self._treatment_names.size}, control_treatment_name={self._control_treatment_name!r})"
        )


def _check_permutation(ids: np.ndarray, field: str) -> None:
    if not np.array_equal(np.sort(ids), np.arange(ids.size)):
        shown = np.unique(ids)[:10].tolist()
        raise InputError(None, field, f"expected ids 0..{ids.size - 1} once each, found {shown}")


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr
