"""PDBAL plate scores: ``GaussianDBALScorer`` (spec §6), triple selection and the vectorised score.

For K thetas with conditional means μ (K, n) and variances v, a plate P (its rows) and a triple
(i, j, k) of thetas, per experiment e of P::

    α_e  = v_i v_j + v_j v_k + v_i v_k
    q_e  = v_k (μ_i,e − μ_j,e)² + v_j (μ_i,e − μ_k,e)² + v_i (μ_j,e − μ_k,e)²
    ll   = − Σ_e ½ · v_i v_j v_k / α_e² · q_e      (exact: − Σ_e q_e / (2 α_e))
    lnrm =   Σ_e ½ · log(1 / α_e)
    ld   =   distance_factor · log(D_ij + D_jk + D_ik)      (−inf allowed)

and ``score(P) = logsumexp over the triples of (lnrm + ll + ld)``; lower is better. ``exact`` gives the
exponent of the Gaussian triple product ``∫Π_t N(y; μ_t, v_t) dy = (2π)⁻¹ α^{−½} exp(−q / (2α))``
(up to −log 2π per experiment); the default keeps the reference's extra factor ``v_i v_j v_k / α``.

Variances constant per theta (v of shape (K,), as the SparseDrugCombo model) take the fast path: per
plate the Gram ``G_P[i, j] = Σ_{e∈P} (μ_i,e − μ_j,e)²`` (one batched GEMM), then O(1) per triple.
Per-experiment variances (K, n) take the general path, O(n_P) per triple. Both work in blocks of at
most ~1 M (plate × triple [× row]) elements. Only numpy is imported.
"""

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.batchie.models.sparse_combo import StackedThetas, conditional_mean, conditional_variance
from snakelab.core.errors import InputError
from snakelab.core.progress import progress
from snakelab.core.seeds import rng as seeded_rng

__all__ = [
    "GaussianDBALScorer",
    "logsumexp",
    "n_triples",
    "score_plates",
    "select_triples",
    "triple_log_distances",
    "unrank_triples",
]

#: Elements per (plates × triples [× rows]) working block.
_BLOCK = 1 << 20
#: Elements of the per-group Gram stack (plates × K × K).
_GRAM_BUDGET = 1 << 22


def n_triples(K: int) -> int:
    """C(K, 3): number of theta triples i > j > k."""
    return K * (K - 1) * (K - 2) // 6 if K >= 3 else 0


def unrank_triples(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triples (i, j, k), i > j > k, of combinatorial-number-system ranks ``C(i,3) + C(j,2) + k``.

    ``ranks``: (T,) non-negative integers. Returns three (T,) int64 arrays. Rank r is the r-th triple
    of the lexicographically sorted list of descending triples (2,1,0), (3,1,0), (3,2,0), (3,2,1), ...
    Exact integer arithmetic (table look-ups), vectorised.
    """
    r = np.asarray(ranks, dtype=np.int64)
    if r.size and r.min() < 0:
        raise ValueError("triple ranks must be non-negative")
    top = int(r.max()) if r.size else 0
    n_max = int(np.cbrt(6.0 * top)) + 4  # C(n_max, 3) > top
    n = np.arange(n_max + 1, dtype=np.int64)
    c3 = n * (n - 1) * (n - 2) // 6
    c2 = n * (n - 1) // 2
    i = np.searchsorted(c3, r, side="right") - 1
    rest = r - c3[i]
    j = np.searchsorted(c2, rest, side="right") - 1
    k = rest - c2[j]
    return i.astype(np.int64), j.astype(np.int64), k.astype(np.int64)


def select_triples(
    K: int, max_triples: int | None, rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The triples T of an iteration (spec §6): three (T,) int64 arrays i > j > k.

    All C(K, 3) triples in rank order when ``max_triples`` is None or C(K, 3) ≤ max_triples (``rng``
    unused, may be None); else ``rng.choice(C(K, 3), size=max_triples, replace=False)`` ranks, unranked
    in draw order.
    """
    if K < 3:
        raise InputError(None, "thetas", f"expected at least 3 thetas for PDBAL scoring, found {K}")
    total = n_triples(K)
    if max_triples is None or total <= max_triples:
        ranks = np.arange(total, dtype=np.int64)
    elif rng is None:
        raise ValueError(f"sampling {max_triples} of {total} triples needs a random generator")
    else:
        ranks = rng.choice(total, size=max_triples, replace=False)
    return unrank_triples(ranks)


def logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log Σ exp(x) along ``axis`` with a max shift; all −inf gives −inf (no warnings)."""
    x = np.asarray(x, dtype=np.float64)
    shift = np.max(x, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        total = np.sum(np.exp(x - shift), axis=axis)
        return np.log(total) + np.squeeze(shift, axis=axis)


def triple_log_distances(
    D: np.ndarray, triples: tuple[np.ndarray, np.ndarray, np.ndarray], distance_factor: float = 1.0
) -> np.ndarray:
    """(T,) float64: ``distance_factor · log(D_ij + D_jk + D_ik)``; −inf where the sum is 0.

    A zero ``distance_factor`` gives 0 for every triple (the distances then play no role).
    """
    i, j, k = triples
    total = D[i, j] + D[j, k] + D[i, k]
    if distance_factor == 0:
        return np.zeros(total.shape)
    with np.errstate(divide="ignore"):
        return distance_factor * np.log(total)


def _triple_arrays(triples: tuple[np.ndarray, np.ndarray, np.ndarray], K: int) -> tuple[np.ndarray, ...]:
    ti, tj, tk = (np.asarray(t, dtype=np.int64) for t in triples)
    if not (ti.shape == tj.shape == tk.shape) or ti.ndim != 1 or ti.size == 0:
        raise ValueError("expected three equal-length, non-empty 1-D triple index arrays")
    if min(ti.min(), tj.min(), tk.min()) < 0 or max(ti.max(), tj.max(), tk.max()) >= K:
        raise ValueError(f"triple indices must lie in 0..{K - 1}")
    return ti, tj, tk


def _pad_rows(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plate rows padded to a (B, m) index array (pad 0), its (B, m) mask and the (B,) sizes."""
    sizes = np.array([r.size for r in rows], dtype=np.int64)
    width = max(int(sizes.max(initial=0)), 1)
    flat = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    plate = np.repeat(np.arange(len(rows)), sizes)
    pos = np.arange(flat.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    index = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=bool)
    index[plate, pos] = flat
    mask[plate, pos] = True
    return index, mask, sizes


def _plate_grams(mu: np.ndarray, rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(B, K·K) flattened Grams ``G_P[i, j] = Σ_{e∈P} (μ_i,e − μ_j,e)²`` and (B,) plate sizes."""
    index, mask, sizes = _pad_rows(rows)
    X = np.where(mask[:, None, :], mu[:, index].transpose(1, 0, 2), 0.0)  # (B, K, m)
    sq = np.einsum("bkm,bkm->bk", X, X)
    G = sq[:, :, None] + sq[:, None, :] - 2.0 * np.matmul(X, X.transpose(0, 2, 1))
    np.maximum(G, 0.0, out=G)
    return G.reshape(len(rows), -1), sizes


def _fast_group(
    G: np.ndarray,
    sizes: np.ndarray,
    K: int,
    triples: tuple[np.ndarray, ...],
    v: np.ndarray,
    log_d: np.ndarray,
    exact: bool,
) -> np.ndarray:
    """(B,) scores of a plate group from its Grams, constant variances v (K,)."""
    ti, tj, tk = triples
    vi, vj, vk = v[ti], v[tj], v[tk]
    alpha = vi * vj + vj * vk + vi * vk
    coef = -0.5 / alpha if exact else -0.5 * vi * vj * vk / alpha**2
    half_log_alpha = 0.5 * np.log(alpha)
    pij, pik, pjk = ti * K + tj, ti * K + tk, tj * K + tk
    step = max(1, _BLOCK // max(G.shape[0], 1))
    parts = []
    for t0 in range(0, ti.size, step):
        s = slice(t0, t0 + step)
        q = vk[s] * G[:, pij[s]] + vj[s] * G[:, pik[s]] + vi[s] * G[:, pjk[s]]
        term = coef[s] * q - sizes[:, None] * half_log_alpha[s] + log_d[s]
        parts.append(logsumexp(term, axis=1))
    return logsumexp(np.stack(parts, axis=1), axis=1)


def _general_group(
    mu: np.ndarray,
    v: np.ndarray,
    rows: list[np.ndarray],
    triples: tuple[np.ndarray, ...],
    log_d: np.ndarray,
    exact: bool,
) -> np.ndarray:
    """(B,) scores of a plate group with per-experiment variances v (K, n)."""
    ti, tj, tk = triples
    index, mask, _ = _pad_rows(rows)
    mu_g, v_g = mu[:, index], v[:, index]  # (K, B, m)
    step = max(1, _BLOCK // index.size)
    parts = []
    for t0 in range(0, ti.size, step):
        s = slice(t0, t0 + step)
        mi, mj, mk = mu_g[ti[s]], mu_g[tj[s]], mu_g[tk[s]]  # (t, B, m)
        vi, vj, vk = v_g[ti[s]], v_g[tj[s]], v_g[tk[s]]
        alpha = vi * vj + vj * vk + vi * vk
        q = vk * (mi - mj) ** 2 + vj * (mi - mk) ** 2 + vi * (mj - mk) ** 2
        ll = -0.5 * q / alpha if exact else -0.5 * vi * vj * vk / alpha**2 * q
        per_exp = np.where(mask, ll - 0.5 * np.log(alpha), 0.0)
        term = per_exp.sum(axis=2) + log_d[s][:, None]  # (t, B)
        parts.append(logsumexp(term, axis=0))
    return logsumexp(np.stack(parts, axis=1), axis=1)


def score_plates(
    mu: np.ndarray,
    v: np.ndarray,
    plate_rows: list[np.ndarray],
    D: np.ndarray,
    triples: tuple[np.ndarray, np.ndarray, np.ndarray],
    distance_factor: float = 1.0,
    exact: bool = False,
    max_chunk: int = 50,
) -> np.ndarray:
    """PDBAL score of each plate (module docstring); lower is better.

    Parameters
    ----------
    mu:
        (K, n) float64: conditional means (logit viability) of K thetas over n experiments.
    v:
        (K,) float64 per-theta constant variances (fast path) or (K, n) per-experiment variances
        (general path); positive.
    plate_rows:
        One int array of column indices into ``mu`` per plate (the plate's experiments).
    D:
        (K, K) float64 symmetric theta distances.
    triples:
        (i, j, k) int arrays of length T ≥ 1 (:func:`select_triples`).
    distance_factor, exact:
        As in :class:`GaussianDBALScorer`.
    max_chunk:
        Plates per memory block (no effect on values).

    Returns
    -------
    (n_plates,) float64 scores.
    """
    mu = np.asarray(mu, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    if mu.ndim != 2:
        raise ValueError(f"expected mu of shape (K, n), found {mu.shape}")
    K, n = mu.shape
    if v.shape not in ((K,), (K, n)):
        raise ValueError(f"expected v of shape ({K},) or ({K}, {n}), found {v.shape}")
    if D.shape != (K, K):
        raise ValueError(f"expected D of shape ({K}, {K}), found {D.shape}")
    if not np.all(v > 0):
        raise ValueError("variances must be positive")
    triples = _triple_arrays(triples, K)
    rows = [np.asarray(r, dtype=np.int64).ravel() for r in plate_rows]
    if any(r.size and (r.min() < 0 or r.max() >= n) for r in rows):
        raise ValueError(f"plate rows must index the {n} columns of mu")
    if max_chunk < 1:
        raise ValueError(f"max_chunk must be ≥ 1, found {max_chunk}")
    log_d = triple_log_distances(D, triples, distance_factor)
    scores = np.zeros(len(rows), dtype=np.float64)
    if v.ndim == 1:
        mu = mu - mu.mean(axis=0)  # differences are shift-invariant; centring keeps the Gram exact
        group = max(1, min(max_chunk, _GRAM_BUDGET // (K * K)))
    else:
        group = max_chunk
    starts = range(0, len(rows), group)
    for g0 in progress(starts, desc="PDBAL plate blocks", total=len(starts)):
        chunk = rows[g0 : g0 + group]
        if v.ndim == 1:
            G, sizes = _plate_grams(mu, chunk)
            scores[g0 : g0 + len(chunk)] = _fast_group(G, sizes, K, triples, v, log_d, exact)
        else:
            scores[g0 : g0 + len(chunk)] = _general_group(mu, v, chunk, triples, log_d, exact)
    return scores


@dataclass(frozen=True)
class GaussianDBALScorer:
    """PDBAL (probabilistic diameter-based active learning) plate scorer (spec §6).

    Parameters
    ----------
    max_triples:
        Theta triples per iteration; all C(K, 3) when None or C(K, 3) ≤ max_triples, else a sample
        of this many drawn by rng (rep, 2, iteration), shared by all chunks and batch steps.
    max_chunk:
        Plates per memory block (no effect on values).
    distance_factor:
        Weight of log(D_ij + D_jk + D_ik).
    exact:
        Use the exact Gaussian triple-product exponent −q/(2α) instead of the reference's.
    """

    max_triples: int | None = 5000
    max_chunk: int = 50
    distance_factor: float = 1.0
    exact: bool = False

    #: Scores need thetas and the iteration's distance matrix.
    requires_model: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.max_triples is not None and (not _is_int(self.max_triples) or self.max_triples < 1):
            raise InputError(
                None, "max_triples", f"expected a positive integer or null, found {self.max_triples!r}"
            )
        if not _is_int(self.max_chunk) or self.max_chunk < 1:
            raise InputError(None, "max_chunk", f"expected a positive integer, found {self.max_chunk!r}")
        factor = self.distance_factor
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not np.isfinite(factor):
            raise InputError(None, "distance_factor", f"expected a finite number, found {factor!r}")
        if not isinstance(self.exact, (bool, np.bool_)):
            raise InputError(None, "exact", f"expected a bool, found {self.exact!r}")

    def triples(
        self, K: int, seed: int = 0, rep: int = 0, iteration: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The iteration's triples (:func:`select_triples` with rng (rep, 2, iteration))."""
        return select_triples(K, self.max_triples, seeded_rng(seed, rep, 2, iteration))

    def score_arrays(
        self,
        mu: np.ndarray,
        v: np.ndarray,
        plate_rows: list[np.ndarray],
        D: np.ndarray,
        triples: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """(n_plates,) scores from arrays: :func:`score_plates` with this scorer's parameters."""
        return score_plates(mu, v, plate_rows, D, triples, self.distance_factor, self.exact, self.max_chunk)

    def score(
        self,
        screen: Screen,
        plate_ids: np.ndarray,
        plate_rows: list[np.ndarray],
        *,
        stacked: StackedThetas | None = None,
        distance: np.ndarray | None = None,
        seed: int = 0,
        rep: int = 0,
        iteration: int = 0,
        plate: int = 0,
        block_mb: int = 256,
    ) -> np.ndarray:
        """(n_plates,) scores of the (joint) plates given by screen row indices ``plate_rows``.

        ``stacked``: the iteration's K thetas with a leading theta axis; ``distance``: (K, K) dense
        distance matrix of the iteration. ``plate_ids`` and ``plate`` do not enter PDBAL scores.
        """
        if stacked is None or distance is None:
            raise ValueError("GaussianDBALScorer needs the thetas and the distance matrix")
        K = stacked.n_thetas
        D = np.asarray(distance, dtype=np.float64)
        if D.shape != (K, K):
            raise InputError(
                None, "distance_matrix", f"expected size {K} like the thetas, found shape {D.shape}"
            )
        triples = self.triples(K, seed, rep, iteration)
        if not plate_rows:
            return np.zeros(0, dtype=np.float64)
        rows = [np.asarray(r, dtype=np.int64) for r in plate_rows]
        needed = np.unique(np.concatenate(rows))
        mu = conditional_mean(
            stacked,
            np.asarray(screen.sample_ids)[needed],
            np.asarray(screen.treatment_ids)[needed],
            block_mb=block_mb,
        )
        v = np.asarray(conditional_variance(stacked), dtype=np.float64)
        local = [np.searchsorted(needed, r) for r in rows]
        return self.score_arrays(mu, v, local, D, triples)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
