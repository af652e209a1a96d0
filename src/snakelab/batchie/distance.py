"""Pairwise theta distances for PDBAL: ``MSEDistance`` (spec §5), one chunk of pairs at a time.

For K thetas with predicted viabilities V (K, N_e) over the chosen experiments,
``d(i, j) = (1/N_e) Σ_e (V[i, e] − V[j, e])²`` for the strictly lower-triangular pairs i > j of one
chunk (§2.3: pair (i, j) has linear index ``q = i(i−1)/2 + j``; chunk k of n is a contiguous range of
q). With ``sigmoid`` (the reference's default) V ← expit(V) first, so the logistic function is applied
twice to the model's viabilities. The chunk is one GEMM over its row span:
``d = (s_i + s_j − 2·V_i·V_jᵀ) / N_e`` with s the row sums of squares, clamped at 0; on a screen the
rows are predicted and summed in blocks of experiments, so memory stays bounded at any N_e.

Only numpy and h5py are imported.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.batchie.distance_calculation import ChunkedDistanceMatrix
from snakelab.batchie.models.sparse_combo import StackedThetas, expit, viability
from snakelab.batchie.pairs import chunk_pair_range, unrank_pairs
from snakelab.core.errors import InputError

__all__ = [
    "EXPERIMENTS",
    "MSEDistance",
    "chunk_pairs",
    "distance_experiments",
    "mse_distance_chunk",
    "mse_distances_from_blocks",
]

#: Allowed values of ``MSEDistance.experiments``.
EXPERIMENTS = ("all", "unobserved")


def chunk_pairs(K: int, n_chunks: int, chunk_index: int) -> tuple[np.ndarray, np.ndarray]:
    """(i, j): two (p,) int64 arrays, the pairs of chunk ``chunk_index`` of ``n_chunks`` in linear order."""
    start, stop = chunk_pair_range(K, n_chunks, chunk_index)
    rows, cols = unrank_pairs(np.arange(start, stop, dtype=np.int64))
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)


def mse_distances_from_blocks(
    blocks: Iterable[np.ndarray], rows: np.ndarray, cols: np.ndarray, sigmoid: bool = True
) -> np.ndarray:
    """(p,) float64 mean squared distances of the pairs (rows[q], cols[q]), from blocks of experiments.

    ``blocks`` yields (h, n_b) float64 viabilities of thetas 0..h−1 (h ≥ rows.max() + 1) over
    consecutive blocks of experiments; the GEMM sums over blocks, so the (K, N_e) matrix need never
    exist at once. ``rows`` must be non-decreasing (a chunk's pairs in linear order) and non-empty.
    """
    lo, hi = int(rows[0]), int(rows[-1])
    sq = np.zeros(hi + 1)
    cross = np.zeros((hi - lo + 1, hi))  # every j of the chunk is < hi
    n_exp = 0
    for block in blocks:
        span = np.asarray(block, dtype=np.float64)[: hi + 1]
        if sigmoid:
            span = expit(span)
        sq += np.einsum("ke,ke->k", span, span)
        cross += span[lo:] @ span[:hi].T
        n_exp += span.shape[1]
    if n_exp == 0:
        raise ValueError("expected at least one experiment to compute distances over, found none")
    values = (sq[rows] + sq[cols] - 2.0 * cross[rows - lo, cols]) / n_exp
    np.maximum(values, 0.0, out=values)
    return values


def mse_distance_chunk(
    V: np.ndarray, n_chunks: int, chunk_index: int, sigmoid: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean squared distances between the rows of ``V`` for the pairs of one chunk.

    Parameters
    ----------
    V:
        (K, N_e) float64: one row of predicted viabilities per theta, N_e ≥ 1 experiments.
    n_chunks, chunk_index:
        The chunk: pairs ``q ∈ chunk_pair_range(K, n_chunks, chunk_index)`` (spec §2.3).
    sigmoid:
        Apply expit to V first (the reference's default; then the sigmoid is applied twice).

    Returns
    -------
    (row_indices, col_indices, values):
        (p,) int64, (p,) int64, (p,) float64 for the chunk's pairs (i > j) in linear order; values
        are mean squared differences (units of viability²), clamped at 0. Empty chunks give p = 0.
    """
    V = np.asarray(V, dtype=np.float64)
    if V.ndim != 2:
        raise ValueError(f"expected V of shape (K, N_e), found {V.shape}")
    rows, cols = chunk_pairs(V.shape[0], n_chunks, chunk_index)
    if rows.size == 0:
        return rows, cols, np.zeros(0, dtype=np.float64)
    return rows, cols, mse_distances_from_blocks([V], rows, cols, sigmoid)


def distance_experiments(screen: Screen, experiments: str = "all") -> np.ndarray:
    """(n,) bool row mask of the experiments a distance is computed over.

    ``"all"``: every row (observed and unobserved; the reference); ``"unobserved"``: the unobserved
    rows (the documented intent). InputError for any other value.
    """
    if experiments == "all":
        return np.ones(screen.size, dtype=bool)
    if experiments == "unobserved":
        return ~np.asarray(screen.observation_mask)
    raise InputError(None, "experiments", f"expected one of {list(EXPERIMENTS)}, found {experiments!r}")


@dataclass(frozen=True)
class MSEDistance:
    """Mean squared distance between thetas' predicted viabilities (spec §5).

    Parameters
    ----------
    sigmoid:
        Apply expit to the viabilities before differencing (default true, as the reference).
    experiments:
        ``"all"`` rows of the screen (default, as the reference) or only ``"unobserved"`` ones.
        The corrected variant is ``sigmoid=False, experiments="unobserved"``.
    """

    sigmoid: bool = True
    experiments: Literal["all", "unobserved"] = "all"

    def __post_init__(self) -> None:
        if not isinstance(self.sigmoid, (bool, np.bool_)):
            raise InputError(None, "sigmoid", f"expected a bool, found {self.sigmoid!r}")
        if self.experiments not in EXPERIMENTS:
            raise InputError(
                None, "experiments", f"expected one of {list(EXPERIMENTS)}, found {self.experiments!r}"
            )

    def viabilities(self, stacked: StackedThetas, screen: Screen, block_mb: int = 256) -> np.ndarray:
        """(K, N_e) float64: ``predict_viability`` of every theta over the chosen rows, in row order."""
        samples, treatments = self._rows(screen)
        return viability(stacked, samples, treatments, block_mb=block_mb)

    def _rows(self, screen: Screen) -> tuple[np.ndarray, np.ndarray]:
        """(sample ids (N_e,), treatment ids (N_e, a)) of the chosen rows; InputError if there are none."""
        mask = distance_experiments(screen, self.experiments)
        if not mask.any():
            raise InputError(
                None, "experiments", f"expected at least one {self.experiments} row in the screen, found none"
            )
        return np.asarray(screen.sample_ids)[mask], np.asarray(screen.treatment_ids)[mask]

    def compute_chunk(
        self,
        stacked: StackedThetas,
        screen: Screen,
        n_chunks: int = 1,
        chunk_index: int = 0,
        block_mb: int = 256,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distances of one chunk of theta pairs: see :func:`mse_distance_chunk` for the arrays.

        ``stacked`` holds the K thetas with a leading theta axis (``ThetaHolder.stacked()``). Only
        thetas 0..max i of the chunk are predicted, once per chosen row of ``screen``, in blocks of
        rows whose (thetas × rows) viabilities take at most ``block_mb`` MiB.
        """
        rows, cols = chunk_pairs(stacked.n_thetas, n_chunks, chunk_index)
        if rows.size == 0:
            return rows, cols, np.zeros(0, dtype=np.float64)
        samples, treatments = self._rows(screen)
        span = StackedThetas(*(field[: int(rows[-1]) + 1] for field in stacked))
        step = max(1, int(block_mb * 2**20 // (8 * span.n_thetas)))
        blocks = (
            viability(span, samples[e : e + step], treatments[e : e + step], block_mb=block_mb)
            for e in range(0, samples.size, step)
        )
        return rows, cols, mse_distances_from_blocks(blocks, rows, cols, self.sigmoid)

    def distance_matrix_chunk(
        self,
        stacked: StackedThetas,
        screen: Screen,
        n_chunks: int = 1,
        chunk_index: int = 0,
        block_mb: int = 256,
    ) -> ChunkedDistanceMatrix:
        """The chunk as a ``ChunkedDistanceMatrix`` of size K (``distance_matrix_chunk_<k>.h5`` content)."""
        K = stacked.n_thetas
        rows, cols, values = self.compute_chunk(stacked, screen, n_chunks, chunk_index, block_mb)
        return ChunkedDistanceMatrix.from_arrays(K, rows, cols, values)
