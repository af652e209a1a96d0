"""Seeded, vectorised Gibbs sampler of the ``SparseDrugCombo`` model (spec §4).

Model. Observed row n has sample c, treatments a, b (−1 = control; arity 1 has only a) and
``y = logit(clip(float32(obs), 0.01, 0.99))`` (f8). With X̃[−1] = 0,
``μ = α + W0[c] + Ṽ0[a] + Ṽ0[b] + W[c]·(Ṽ1[a] + Ṽ1[b]) + W[c]·(Ṽ2[a] ∘ Ṽ2[b])`` and ``y ~ N(μ, 1/λ)``.
Shapes: W (C, D), W0 (C,), V0 (M,), V1 and V2 (M, D); C samples and M non-control treatments
(drug-doses) of the screen's universe, D embedding dimensions.

Data. μ depends on a row only through (sample, unordered treatment pair), so rows are aggregated once
per run into *entries* e = distinct (c, {a, b}) with count k_e, mean ȳ_e and within-entry sum of
squares; every sum over rows of §4 becomes a k-weighted sum over entries and Σ(y − μ)² =
Σ_e SS_e + Σ_e k_e (ȳ_e − μ_e)². Treatment arrays are stored padded: row M is the control's zero
(X̃[−1] = 0) and control slots point at it, so arity 1 is the pair (a, control).

Sweep (:func:`sweep`), exactly spec §4 steps 1..13 (:func:`step_residuals`, :func:`step_alpha`,
:func:`step_w0`, :func:`step_v0` or :func:`step_v0_v1_joint`, :func:`step_w`, :func:`step_v2`,
:func:`step_v1`, :func:`step_tau0`, :func:`step_local_v0`, :func:`step_precision`,
:func:`step_local_v2`, :func:`step_local_v1`, :func:`step_column_precisions`), with the clipping
rules of §4 and ε = 1e-3 added to the conditional rates as written there. The residual
r_e = ȳ_e − μ_e is kept current after every block.

Random draws come from a :class:`Draws` (one ``numpy.random.Generator``; tests inject their own
object with the same two methods). Ga(shape, rate) is ``draws.gamma(shape, size) * (1 / rate)``,
bit-identical to numpy's ``gamma(shape, scale=1/rate)``. Per sweep, in this order:
step 2 (only without ``fake_intercept`` and with rows) ``normal(None)``; step 3 ``normal((C,))``;
step 4 ``normal((M,))`` (joint: ``normal((M, D+1))``, columns [V0, V1], nothing at step 7);
step 5 ``normal((C, D))``; step 6 ``normal((M, D))``; step 7 ``normal((M, D))``; step 8
``gamma(a0 + C/2, None)``; step 9 ``gamma(1, (M,))`` ξ0, ``gamma(1, (M,))`` φ0 (both only with
``local_shrinkage``), ``gamma(1, None)`` ζ0, ``gamma((1 + M)/2, None)`` η0; step 10
``gamma(a0 + N/2, None)``; steps 11, 12 as 9 with sizes (M, D) and (D,); step 13
``gamma(g, None)`` with the vector g_d + C(D − d)/2 (``mult_gamma_proc``) or ``gamma(a0 + C/2, (D,))``.
Row m of a per-treatment draw belongs to treatment id m whatever the blocking.

Blocking of steps 4, 6, 7: treatments that never share an observed row are conditionally
independent, so the co-occurrence graph is coloured once per run (greedy, ids ascending, smallest
free colour) and each colour class is one batched draw (``colour``); ``sequential`` uses singleton
classes in id order (the reference's per-id scan); ``joint`` draws V0 and V1 together at step 4 as
one Gaussian of M·(D+1) dimensions when that is ≤ ``joint_max_dim`` (else as ``colour``). Inside a
step, classes interact only through the changes Δ of earlier classes, applied through per-pair
sufficient statistics (B_p = Σ_{e∈p} k_e W_c W_cᵀ), so no pass over rows runs per class.
Gaussian blocks are drawn as Q⁻¹(h + L z) with Q = L Lᵀ (mean Q⁻¹h, covariance Q⁻¹): batched
Cholesky factorisations and solves for many small blocks, blocked triangular solves for the one large
joint block. A block whose Q is not positive definite keeps its old value and is counted (logged at
the end of :func:`sample_chain`). Large per-sweep arrays live in a workspace reused between sweeps.
Only numpy is imported.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from snakelab.core.errors import InputError
from snakelab.core.progress import progress as progress_bar

if TYPE_CHECKING:
    from snakelab.batchie.data import Screen
    from snakelab.batchie.models.params import McmcParams, SparseDrugComboParams

__all__ = [
    "CLIP_MAX",
    "EPS",
    "SAMPLE_KEYS",
    "BlockPlan",
    "DrawSource",
    "Draws",
    "GibbsData",
    "GibbsProblem",
    "GibbsState",
    "block_plan",
    "colour_classes",
    "greedy_colouring",
    "init_state",
    "logit_observations",
    "make_problem",
    "mean_logit",
    "prepare_data",
    "sample_chain",
    "step_alpha",
    "step_column_precisions",
    "step_local_v0",
    "step_local_v1",
    "step_local_v2",
    "step_precision",
    "step_residuals",
    "step_tau0",
    "step_v0",
    "step_v0_v1_joint",
    "step_v1",
    "step_v2",
    "step_w",
    "step_w0",
    "sweep",
]

logger = logging.getLogger(__name__)

EPS = 1e-3
CLIP_MAX = 1e6
_INIT_LOCAL = 100.0
_INIT_PRECISION = 100.0


class DrawSource(Protocol):
    """Where the sampler's randomness comes from: standard normal and standard gamma (rate 1) draws."""

    def normal(self, size: int | tuple[int, ...] | None) -> Any:
        """Standard normal draws of shape ``size`` (a float for ``None``)."""

    def gamma(self, shape: ArrayLike, size: int | tuple[int, ...] | None) -> Any:
        """Standard gamma draws (rate 1) with shape parameter ``shape`` (broadcast to ``size``)."""


class Draws:
    """:class:`DrawSource` over one ``numpy.random.Generator`` (never the global one)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def normal(self, size: int | tuple[int, ...] | None) -> Any:
        """``rng.standard_normal(size)``."""
        return self._rng.standard_normal(size)

    def gamma(self, shape: ArrayLike, size: int | tuple[int, ...] | None) -> Any:
        """``rng.standard_gamma(shape, size)``; times 1/rate it equals ``rng.gamma(shape, 1/rate, size)``."""
        return self._rng.standard_gamma(shape, size)


def _ga(
    draws: DrawSource, shape: ArrayLike, rate: ArrayLike, size: int | tuple[int, ...] | None = None
) -> Any:
    """Ga(shape, rate) = numpy's ``gamma(shape, scale=1/rate)``."""
    return draws.gamma(shape, size) * (1.0 / np.asarray(rate, dtype=np.float64))


def _sums(index: np.ndarray, weights: np.ndarray, length: int) -> np.ndarray:
    """(length,) f8 sums of ``weights`` by ``index`` (``np.bincount``, float also when empty)."""
    return np.bincount(index, weights=weights, minlength=length).astype(np.float64, copy=False)


def logit_observations(observations: ArrayLike) -> np.ndarray:
    """(n,) f8 ``logit(clip(float32(obs), 0.01, 0.99))``: the clip acts on the float32-cast values."""
    v = np.clip(np.asarray(observations).astype(np.float32), np.float32(0.01), np.float32(0.99))
    v = v.astype(np.float64)
    return np.log(v) - np.log1p(-v)


def mean_logit(
    W: ArrayLike,
    W0: ArrayLike,
    V0: ArrayLike,
    V1: ArrayLike,
    V2: ArrayLike,
    alpha: float,
    sample_ids: ArrayLike,
    treatment_ids: ArrayLike,
) -> np.ndarray:
    """(n,) f8 conditional mean μ of §4 for one parameter set.

    W (C, D), W0 (C,), V0 (M,), V1 (M, D), V2 (M, D); ``sample_ids`` (n,) in 0..C−1;
    ``treatment_ids`` (n, a), a ∈ {1, 2}, −1 for controls (which contribute nothing).
    """
    W = np.asarray(W, dtype=np.float64)
    V1 = np.asarray(V1, dtype=np.float64)
    V2 = np.asarray(V2, dtype=np.float64)
    V0 = np.asarray(V0, dtype=np.float64)
    m, d = V1.shape
    ids = np.asarray(treatment_ids, dtype=np.int64)
    ids = np.where(ids < 0, m, ids)
    v0 = np.append(V0, 0.0)
    v1 = np.vstack([V1, np.zeros((1, d))])
    v2 = np.vstack([V2, np.zeros((1, d))])
    wc = np.take(W, np.asarray(sample_ids, dtype=np.int64), axis=0)
    mu = alpha + np.take(np.asarray(W0, dtype=np.float64), sample_ids) + v0[ids].sum(axis=1)
    x = v1[ids].sum(axis=1)
    if ids.shape[1] == 2:
        x = x + v2[ids[:, 0]] * v2[ids[:, 1]]
    return mu + np.einsum("nd,nd->n", wc, x)


_DENSE_PER_ENTRY = 16  # dense storage while R·K ≤ 16 · nnz (a BLAS product beats gathers by ~that)
_DENSE_MIN = 4096
_DENSE_MAX = 1 << 23


class _Incidence:
    """A sparse (R, K) matrix A with one nonzero per *entry*; products without a loop over rows.

    ``rows``/``cols`` (nnz,) give the position of each entry; ``weights`` (nnz,) the constant values
    (the default of :meth:`matmul`). Dense storage and a BLAS product are used when R·K is small
    relative to nnz, sorted segment sums otherwise; both give A @ X. Dense products reuse scratch
    arrays held here, so repeated calls allocate no large temporaries.
    """

    def __init__(
        self, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, shape: tuple[int, int]
    ) -> None:
        self.shape = shape
        self.rows = rows
        self.cols = cols
        size = shape[0] * shape[1]
        self.dense = size <= max(_DENSE_PER_ENTRY * rows.size, _DENSE_MIN) and size <= _DENSE_MAX
        self._flat = rows * shape[1] + cols
        self._unique = np.unique(self._flat).size == self._flat.size
        self._order = np.argsort(rows, kind="stable")
        sorted_rows = rows[self._order]
        self._present, self._starts = np.unique(sorted_rows, return_index=True)
        self._sorted_cols = cols[self._order]
        self._weights = weights
        self._scratch = np.zeros(shape) if self.dense else None
        self._product = np.empty(shape) if self.dense else None
        self._dense_weights = self._dense_matrix(weights).copy() if self.dense else None

    def _dense_matrix(self, values: np.ndarray) -> np.ndarray:
        """A with nonzeros ``values`` as a dense (R, K) array (a scratch array: use it at once)."""
        if not self._unique:
            r, k = self.shape
            return _sums(self._flat, values, r * k).reshape(r, k)
        a = self._scratch
        a.fill(0.0)
        a.ravel()[self._flat] = values
        return a

    def matmul(
        self, x: np.ndarray, values: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """A @ x for x (K, ...), with A's nonzeros ``values`` (nnz,) in entry order (default: weights).

        ``out``: optional C-contiguous f8 array of shape (R, ...) receiving the result.
        """
        r, k = self.shape
        tail = x.shape[1:]
        width = int(np.prod(tail))
        flat = x.reshape(k, width)
        target = None if out is None else out.reshape(r, width)
        if self.dense:
            a = self._dense_weights if values is None else self._dense_matrix(values)
            return np.matmul(a, flat, out=target).reshape((r, *tail))
        vals = (self._weights if values is None else values)[self._order]
        result = np.zeros((r, width)) if target is None else target
        if target is not None:
            result.fill(0.0)
        if self._present.size:
            terms = np.take(flat, self._sorted_cols, axis=0) * vals[:, None]
            result[self._present] = np.add.reduceat(terms, self._starts, axis=0)
        return result.reshape((r, *tail))

    def bilinear(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(nnz,) a[rows]·b[cols] per entry, for a (R, D), b (K, D)."""
        if self.dense:
            return np.take(np.matmul(a, b.T, out=self._product).ravel(), self._flat)
        return np.einsum("nd,nd->n", np.take(a, self.rows, axis=0), np.take(b, self.cols, axis=0))


class _Workspace:
    """Scratch arrays reused from sweep to sweep (one per name), so large temporaries are not
    reallocated (and page-faulted) in every sweep. Contents are valid only until the next request."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An f8 array of ``shape`` (uninitialised), the same one for the same name and size."""
        size = int(np.prod(shape))
        arr = self._arrays.get(name)
        if arr is None or arr.size < size:
            arr = np.empty(size)
            self._arrays[name] = arr
        return arr[:size].reshape(shape)


@dataclass(frozen=True, eq=False)
class GibbsData:
    """The observed rows of a screen, aggregated into entries (module docstring).

    Sizes: C samples, M treatments, N observed rows, E entries, P distinct treatment pairs. Treatment
    indices are padded (M = control). ``entry_*`` (E,): sample, pair, padded treatments a ≤ b,
    count k (f8), mean ȳ. ``pair_a``/``pair_b`` (P,). ``row_entry`` (N,): the entry of each observed
    row (rows in screen order). ``drug_count`` (M,): rows holding each treatment; ``drug_sample`` (M, C):
    the same per sample; ``sample_count`` (C,).
    """

    n_samples: int
    n_treatments: int
    n_obs: int
    arity: int
    y: np.ndarray
    y_mean: float
    row_entry: np.ndarray
    entry_sample: np.ndarray
    entry_pair: np.ndarray
    entry_a: np.ndarray
    entry_b: np.ndarray
    entry_count: np.ndarray
    entry_mean: np.ndarray
    ss_within: float
    pair_a: np.ndarray
    pair_b: np.ndarray
    drug_count: np.ndarray
    drug_sample: np.ndarray
    sample_count: np.ndarray
    slot_drug: np.ndarray
    slot_drug_sample: np.ndarray
    sample_pair: _Incidence
    pair_sample: _Incidence

    @property
    def n_entries(self) -> int:
        """E: number of entries."""
        return int(self.entry_sample.size)

    @property
    def drug_drug_pairs(self) -> np.ndarray:
        """Indices of the pairs of two non-control treatments (ascending)."""
        return np.flatnonzero(self.pair_b < self.n_treatments)


def prepare_data(screen: Screen) -> GibbsData:
    """Aggregate the observed rows of ``screen`` (C, M from its universe); InputError on invalid rows.

    Errors: arity other than 1 or 2 (``treatment_ids``), a row holding the same treatment twice
    (``treatment_ids``), a negative or NaN observation (``observations``).
    """
    space = screen.experiment_space
    c_total, m_total = int(space.n_samples), int(space.n_treatments)
    mask = np.asarray(screen.observation_mask)
    rows = np.flatnonzero(mask)
    ids = np.asarray(screen.treatment_ids)
    arity = int(ids.shape[1])
    if arity not in (1, 2):
        raise InputError(None, "treatment_ids", f"expected arity 1 or 2 for SparseDrugCombo, found {arity}")
    ids = ids[rows]
    obs = np.asarray(screen.observations)[rows]
    bad = np.flatnonzero(~(obs >= 0))
    if bad.size:
        raise InputError(
            None,
            "observations",
            f"expected non-negative observed values, found {obs[bad[0]]} in row {rows[bad[0]]}",
        )
    if arity == 2:
        same = np.flatnonzero((ids[:, 0] == ids[:, 1]) & (ids[:, 0] >= 0))
        if same.size:
            raise InputError(
                None,
                "treatment_ids",
                f"expected two different treatments per row, found id {ids[same[0], 0]} twice in row "
                f"{rows[same[0]]}",
            )
    y = logit_observations(obs)
    samples = np.asarray(screen.sample_ids)[rows].astype(np.int64)
    padded = np.where(ids < 0, m_total, ids).astype(np.int64)
    if arity == 1:
        padded = np.column_stack([padded[:, 0], np.full(rows.size, m_total, dtype=np.int64)])
    lo, hi = padded.min(axis=1), padded.max(axis=1)
    base = m_total + 1
    keys, row_entry, counts = np.unique(
        (samples * base + lo) * base + hi, return_inverse=True, return_counts=True
    )
    row_entry = row_entry.ravel()
    entry_sample = keys // (base * base)
    pair_keys, entry_pair = np.unique(keys % (base * base), return_inverse=True)
    entry_pair = entry_pair.ravel()
    pair_a, pair_b = pair_keys // base, pair_keys % base
    k = counts.astype(np.float64)
    entry_mean = _sums(row_entry, y, keys.size) / np.maximum(k, 1.0)
    ss_within = float(np.sum((y - entry_mean[row_entry]) ** 2))
    entry_a, entry_b = pair_a[entry_pair], pair_b[entry_pair]
    slot_drug = np.concatenate([entry_a, entry_b])
    slot_sample = np.concatenate([entry_sample, entry_sample])
    slot_drug_sample = slot_drug * c_total + slot_sample
    drug_sample = _sums(slot_drug_sample, np.concatenate([k, k]), (m_total + 1) * c_total)
    drug_sample = drug_sample.reshape(m_total + 1, c_total)[:m_total]
    n_pairs = int(pair_keys.size)
    return GibbsData(
        n_samples=c_total,
        n_treatments=m_total,
        n_obs=int(rows.size),
        arity=arity,
        y=y,
        y_mean=float(np.mean(y)) if rows.size else 0.0,
        row_entry=row_entry,
        entry_sample=entry_sample,
        entry_pair=entry_pair,
        entry_a=entry_a,
        entry_b=entry_b,
        entry_count=k,
        entry_mean=entry_mean,
        ss_within=ss_within,
        pair_a=pair_a,
        pair_b=pair_b,
        drug_count=drug_sample.sum(axis=1),
        drug_sample=drug_sample,
        sample_count=np.bincount(samples, minlength=c_total).astype(np.float64),
        slot_drug=slot_drug,
        slot_drug_sample=slot_drug_sample,
        sample_pair=_Incidence(entry_sample, entry_pair, k, (c_total, n_pairs)),
        pair_sample=_Incidence(entry_pair, entry_sample, k, (n_pairs, c_total)),
    )


def greedy_colouring(n_nodes: int, edges_a: ArrayLike, edges_b: ArrayLike) -> np.ndarray:
    """(n_nodes,) i8 greedy colouring: nodes in ascending id order get the smallest colour unused by
    their already coloured neighbours. ``edges_a``/``edges_b``: endpoints of the undirected edges."""
    a = np.asarray(edges_a, dtype=np.int64)
    b = np.asarray(edges_b, dtype=np.int64)
    keep = a != b
    lower = np.minimum(a, b)[keep]
    upper = np.maximum(a, b)[keep]
    order = np.argsort(upper, kind="stable")
    bounds = np.searchsorted(upper[order], np.arange(n_nodes + 1))
    lower = lower[order]
    colours = np.full(n_nodes, -1, dtype=np.int64)
    for node in range(n_nodes):
        used = np.unique(colours[lower[bounds[node] : bounds[node + 1]]])
        free = np.flatnonzero(used != np.arange(used.size))
        colours[node] = free[0] if free.size else used.size
    return colours


@dataclass(frozen=True, eq=False)
class BlockPlan:
    """Update order of the treatment blocks of steps 4, 6, 7 for one partition into classes.

    ``order`` (M,): treatment ids in update order (class by class, ids ascending inside a class);
    ``position`` (M+1,): inverse of ``order`` (the control pad maps to M). Pair-entries are the
    (treatment, other treatment, pair) triples of the drug-drug pairs, sorted by the treatment's
    position: ``pe_pair``, ``pe_other`` (position of the other treatment), ``pe_weight`` (rows of the
    pair). ``classes``: per class (ms, mt, s, t, starts, nonempty): positions [ms, mt), pair-entries
    [s, t), segment starts of its members relative to s (members with pair-entries only) and the
    local indices of those members (``None`` when all have some).
    """

    order: np.ndarray
    position: np.ndarray
    pe_pair: np.ndarray
    pe_other: np.ndarray
    pe_weight: np.ndarray
    classes: tuple[tuple[int, int, int, int, np.ndarray, np.ndarray | None], ...]
    n_colours: int


def block_plan(data: GibbsData, classes: Sequence[ArrayLike]) -> BlockPlan:
    """The :class:`BlockPlan` for ``classes`` (a partition of 0..M−1 into independent sets, in update
    order; each class is sorted ascending here)."""
    m_total = data.n_treatments
    parts = [np.sort(np.asarray(c, dtype=np.int64)) for c in classes]
    order = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    if not np.array_equal(np.sort(order), np.arange(m_total)):
        raise ValueError("classes must partition the treatment ids")
    position = np.empty(m_total + 1, dtype=np.int64)
    position[order] = np.arange(m_total)
    position[m_total] = m_total
    dd = data.drug_drug_pairs
    pair_weight = _sums(data.entry_pair, data.entry_count, data.pair_a.size)
    member = np.concatenate([data.pair_a[dd], data.pair_b[dd]])
    other = np.concatenate([data.pair_b[dd], data.pair_a[dd]])
    pair = np.concatenate([dd, dd])
    sort = np.lexsort((pair, position[member]))
    member_pos = position[member[sort]]
    bounds = np.searchsorted(member_pos, np.arange(m_total + 1))
    plan_classes = []
    ms = 0
    for part in parts:
        mt = ms + part.size
        s, t = int(bounds[ms]), int(bounds[mt])
        firsts = bounds[ms:mt]
        nonempty = np.flatnonzero(bounds[ms + 1 : mt + 1] > firsts)
        starts = firsts[nonempty] - s
        plan_classes.append((ms, mt, s, t, starts, None if nonempty.size == part.size else nonempty))
        ms = mt
    return BlockPlan(
        order=order,
        position=position,
        pe_pair=pair[sort],
        pe_other=position[other[sort]],
        pe_weight=pair_weight[pair[sort]],
        classes=tuple(plan_classes),
        n_colours=len(parts),
    )


def colour_classes(data: GibbsData) -> list[np.ndarray]:
    """Colour classes (ascending ids) of the greedy colouring of the co-occurrence graph, by colour."""
    dd = data.drug_drug_pairs
    colours = greedy_colouring(data.n_treatments, data.pair_a[dd], data.pair_b[dd])
    n = int(colours.max()) + 1 if colours.size else 0
    order = np.argsort(colours, kind="stable")
    return np.split(order, np.cumsum(np.bincount(colours, minlength=n))[:-1]) if n else []


@dataclass(frozen=True, eq=False)
class GibbsProblem:
    """Everything a sweep needs besides the state: the data, the block plan and the parameters."""

    data: GibbsData
    plan: BlockPlan
    params: SparseDrugComboParams
    joint: bool
    workspace: _Workspace = field(default_factory=_Workspace, repr=False)

    @property
    def n_dims(self) -> int:
        """D."""
        return int(self.params.n_embedding_dimensions)


def make_problem(screen: Screen, params: SparseDrugComboParams, mcmc: McmcParams) -> GibbsProblem:
    """Prepare the data of ``screen`` and the block plan of ``mcmc.blocking`` (colouring once per run)."""
    data = prepare_data(screen)
    d = int(params.n_embedding_dimensions)
    if mcmc.blocking == "sequential":
        classes: list[np.ndarray] = [np.array([m]) for m in range(data.n_treatments)]
    else:
        classes = colour_classes(data)
    joint = mcmc.blocking == "joint" and data.n_treatments * (d + 1) <= mcmc.joint_max_dim
    return GibbsProblem(data=data, plan=block_plan(data, classes), params=params, joint=joint)


@dataclass(eq=False)
class GibbsState:
    """The sampler's state. V0 (M+1,), V1 and V2 (M+1, D) are padded: row M (the control) stays zero.

    Local scales φ0 (M,), φ1, φ2 (M, D) with auxiliaries ξ; global scales η0 (float), η1, η2 (D,) with
    auxiliaries ζ; γ (D,) and τ = cumprod(γ) (clipped) the column precisions of W; τ0 that of W0;
    ``precision`` λ; ``resid`` (E,) ȳ_e − μ_e; ``n_nonpd`` the non-positive-definite blocks so far.
    """

    W: np.ndarray
    W0: np.ndarray
    V0: np.ndarray
    V1: np.ndarray
    V2: np.ndarray
    phi0: np.ndarray
    phi1: np.ndarray
    phi2: np.ndarray
    xi0: np.ndarray
    xi1: np.ndarray
    xi2: np.ndarray
    eta0: float
    eta1: np.ndarray
    eta2: np.ndarray
    zeta0: float
    zeta1: np.ndarray
    zeta2: np.ndarray
    gamma: np.ndarray
    tau: np.ndarray
    tau0: float
    alpha: float
    precision: float
    resid: np.ndarray
    n_nonpd: int = 0

    def copy(self) -> GibbsState:
        """A deep copy."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return GibbsState(**{k: v.copy() if isinstance(v, np.ndarray) else v for k, v in values.items()})


def init_state(data: GibbsData, n_dims: int) -> GibbsState:
    """§4 "Init": W, W0, V0, V1, V2 = 0; φ = 100; η = 1; γ = 1; τ = τ0 = 100; α = 0; λ = 100."""
    c, m, d = data.n_samples, data.n_treatments, n_dims
    return GibbsState(
        W=np.zeros((c, d)),
        W0=np.zeros(c),
        V0=np.zeros(m + 1),
        V1=np.zeros((m + 1, d)),
        V2=np.zeros((m + 1, d)),
        phi0=np.full(m, _INIT_LOCAL),
        phi1=np.full((m, d), _INIT_LOCAL),
        phi2=np.full((m, d), _INIT_LOCAL),
        xi0=np.ones(m),
        xi1=np.ones((m, d)),
        xi2=np.ones((m, d)),
        eta0=1.0,
        eta1=np.ones(d),
        eta2=np.ones(d),
        zeta0=1.0,
        zeta1=np.ones(d),
        zeta2=np.ones(d),
        gamma=np.ones(d),
        tau=np.full(d, _INIT_LOCAL),
        tau0=_INIT_LOCAL,
        alpha=0.0,
        precision=_INIT_PRECISION,
        resid=data.entry_mean.copy(),
    )


def _bounds(data: GibbsData) -> tuple[float, np.ndarray]:
    """Lower clip bounds: 1/√(1 + N) for λ, τ, τ0, η; 1/√(1 + N_m) (M,) for the φ of treatment m."""
    return 1.0 / np.sqrt(1.0 + data.n_obs), 1.0 / np.sqrt(1.0 + data.drug_count)


def _pair_features(state: GibbsState, data: GibbsData) -> np.ndarray:
    """(P, D) x_p = Ṽ1[a] + Ṽ1[b] + Ṽ2[a] ∘ Ṽ2[b] per pair."""
    return (
        np.take(state.V1, data.pair_a, axis=0)
        + np.take(state.V1, data.pair_b, axis=0)
        + np.take(state.V2, data.pair_a, axis=0) * np.take(state.V2, data.pair_b, axis=0)
    )


def _cholesky(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched Cholesky of q (B, n, n): (L, ok) with ok (B,) False where q is not positive definite."""
    try:
        chol = np.linalg.cholesky(q)
    except np.linalg.LinAlgError:
        return _cholesky_columns(q)
    return chol, np.isfinite(chol).all(axis=(1, 2))


def _cholesky_columns(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column-by-column Cholesky vectorised over the batch; flags the blocks that fail."""
    n = q.shape[-1]
    ok = np.isfinite(q).all(axis=(1, 2))
    a = np.where(ok[:, None, None], q, np.eye(n))
    chol = np.zeros_like(a)
    for j in range(n):
        pivot = a[:, j, j] - np.einsum("bk,bk->b", chol[:, j, :j], chol[:, j, :j])
        bad = ~(pivot > 0)
        ok &= ~bad
        pivot = np.sqrt(np.where(bad, 1.0, pivot))
        chol[:, j, j] = pivot
        below = a[:, j + 1 :, j] - np.einsum("bik,bk->bi", chol[:, j + 1 :, :j], chol[:, j, :j])
        chol[:, j + 1 :, j] = below / pivot[:, None]
    return chol, ok


def _solve_draw(q: np.ndarray, chol: np.ndarray, h: np.ndarray, z: np.ndarray) -> np.ndarray:
    """x = Q⁻¹(h + L z) per block: mean Q⁻¹h, noise L⁻ᵀz (Q = L Lᵀ). q, chol (B, n, n); h, z (B, n)."""
    rhs = h + np.matmul(chol, z[..., None])[..., 0]
    return np.linalg.solve(q, rhs[..., None])[..., 0]


def _gaussian(q: np.ndarray, h: np.ndarray, z: np.ndarray, old: np.ndarray) -> tuple[np.ndarray, int]:
    """Draws x ~ N(Q⁻¹h, Q⁻¹) per block as solve(Q, h + L z); blocks with non-PD Q keep ``old``.

    q (B, n, n), h, z, old (B, n). Returns (x, number of non-PD blocks). Fast path: one batched
    Cholesky and solve; a non-finite result or a failed factorisation flags the blocks one by one.
    """
    try:
        chol = np.linalg.cholesky(q)
    except np.linalg.LinAlgError:
        chol, ok = _cholesky_columns(q)
    else:
        x = _solve_draw(q, chol, h, z)
        if np.isfinite(x).all():
            return x, 0
        ok = np.isfinite(chol).all(axis=(1, 2)) & np.isfinite(x).all(axis=1)
    eye = np.eye(q.shape[-1])
    x = _solve_draw(np.where(ok[:, None, None], q, eye), np.where(ok[:, None, None], chol, eye), h, z)
    x = np.where(ok[:, None], x, old)
    return x, int(q.shape[0] - np.count_nonzero(ok))


_TRIANGULAR_BLOCK = 64


def _lower_solve(chol: np.ndarray, b: np.ndarray, transposed: bool) -> np.ndarray:
    """Solves L y = b (``transposed``: Lᵀ y = b) for lower-triangular L (n, n), b (n,), by recursive
    2 × 2 blocking: O(n²) work in matrix products, small diagonal blocks by ``np.linalg.solve``."""
    n = chol.shape[0]
    if n <= _TRIANGULAR_BLOCK:
        return np.linalg.solve(chol.T if transposed else chol, b)
    half = n // 2
    top, bottom, corner = chol[:half, :half], chol[half:, half:], chol[half:, :half]
    if transposed:
        y2 = _lower_solve(bottom, b[half:], True)
        y1 = _lower_solve(top, b[:half] - corner.T @ y2, True)
    else:
        y1 = _lower_solve(top, b[:half], False)
        y2 = _lower_solve(bottom, b[half:] - corner @ y1, False)
    return np.concatenate([y1, y2])


def _gaussian_single(q: np.ndarray, h: np.ndarray, z: np.ndarray, old: np.ndarray) -> tuple[np.ndarray, int]:
    """One large block: x = L⁻ᵀ(L⁻¹h + z) ~ N(Q⁻¹h, Q⁻¹), Q = L Lᵀ (n, n); non-PD Q keeps ``old``.

    Returns (x, 1 if Q was not positive definite else 0)."""
    try:
        chol = np.linalg.cholesky(q)
    except np.linalg.LinAlgError:
        return old, 1
    x = _lower_solve(chol, _lower_solve(chol, h, False) + z, True)
    if not np.isfinite(x).all():
        return old, 1
    return x, 0


def _segment_sum(x: np.ndarray, starts: np.ndarray, nonempty: np.ndarray | None, k: int) -> np.ndarray:
    """Sums of consecutive segments of x (rows) into k member rows (members without rows get 0)."""
    if nonempty is None:
        return np.add.reduceat(x, starts, axis=0)
    out = np.zeros((k, *x.shape[1:]))
    if starts.size:
        out[nonempty] = np.add.reduceat(x, starts, axis=0)
    return out


def _add_diagonal(q: np.ndarray, diag: np.ndarray) -> np.ndarray:
    """q (B, n, n) with diag (B, n) added to the diagonals, in place; returns q."""
    n = q.shape[-1]
    q.reshape(q.shape[0], n * n)[:, :: n + 1] += diag
    return q


# ---------------------------------------------------------------------------------------------- steps


def step_residuals(state: GibbsState, problem: GibbsProblem) -> None:
    """Step 1: μ (unclipped) from scratch; stores r_e = ȳ_e − μ_e."""
    d = problem.data
    mu = (
        state.alpha
        + np.take(state.W0, d.entry_sample)
        + np.take(state.V0, d.entry_a)
        + np.take(state.V0, d.entry_b)
        + d.sample_pair.bilinear(state.W, _pair_features(state, d))
    )
    state.resid = d.entry_mean - mu


def step_alpha(state: GibbsState, problem: GibbsProblem, draws: DrawSource) -> None:
    """Step 2: α = mean(y) (``fake_intercept``) or α ~ N(mean(y − μ + α), 1/N); unchanged without rows."""
    d = problem.data
    if d.n_obs == 0:
        return
    if problem.params.fake_intercept:
        new = d.y_mean
    else:
        mean = state.alpha + float(np.dot(d.entry_count, state.resid)) / d.n_obs
        new = mean + float(draws.normal(None)) / np.sqrt(d.n_obs)
    state.resid -= new - state.alpha
    state.alpha = float(new)


def step_w0(state: GibbsState, problem: GibbsProblem, draws: DrawSource) -> None:
    """Step 3: W0[c] ~ N(λR_c/(λN_c + τ0), 1/(λN_c + τ0)), R_c = Σ_{n∈c}(y − μ + W0[c]), all c at once."""
    d = problem.data
    lam = state.precision
    r = _sums(d.entry_sample, d.entry_count * state.resid, d.n_samples)
    r += d.sample_count * state.W0
    prec = lam * d.sample_count + state.tau0
    z = np.asarray(draws.normal((d.n_samples,)))
    new = lam * r / prec + z / np.sqrt(prec)
    state.resid -= np.take(new - state.W0, d.entry_sample)
    state.W0 = new


def _drug_sums(data: GibbsData, values: np.ndarray) -> np.ndarray:
    """(M,) Σ over the entries holding each treatment of ``values`` (E,)."""
    both = np.concatenate([values, values])
    return _sums(data.slot_drug, both, data.n_treatments + 1)[: data.n_treatments]


def _drug_sample_sums(data: GibbsData, values: np.ndarray) -> np.ndarray:
    """(M, C) Σ over the entries of sample c holding treatment m of ``values`` (E,)."""
    c, m = data.n_samples, data.n_treatments
    both = np.concatenate([values, values])
    return _sums(data.slot_drug_sample, both, (m + 1) * c).reshape(m + 1, c)[:m]


def step_v0(state: GibbsState, problem: GibbsProblem, draws: DrawSource) -> None:
    """Step 4: V0[m] ~ N(λR_m/(λN_m + φ0[m]η0), 1/(λN_m + φ0[m]η0)), class by class of the plan."""
    d, plan = problem.data, problem.plan
    m_total = d.n_treatments
    lam = state.precision
    v0 = state.V0
    weighted = d.entry_count * state.resid
    g = _drug_sums(d, weighted) + d.drug_count * v0[:m_total]
    prec = lam * d.drug_count + state.phi0 * state.eta0
    z = np.asarray(draws.normal((m_total,)))
    order = plan.order
    g_o = g[order]
    scale_o = (lam / prec)[order]
    noise_o = (z / np.sqrt(prec))[order]
    old_o = v0[order]
    new_o = np.empty(m_total)
    delta = np.zeros(m_total + 1)
    weight, other = plan.pe_weight, plan.pe_other
    for ms, mt, s, t, starts, nonempty in plan.classes:
        h = g_o[ms:mt]
        if t > s:
            h = h - _segment_sum(weight[s:t] * delta[other[s:t]], starts, nonempty, mt - ms)
        new_o[ms:mt] = scale_o[ms:mt] * h + noise_o[ms:mt]
        delta[ms:mt] = new_o[ms:mt] - old_o[ms:mt]
    new = v0.copy()
    new[order] = new_o
    change = new - v0
    state.resid -= np.take(change, d.entry_a) + np.take(change, d.entry_b)
    state.V0 = new


def _w_statistics(state: GibbsState, problem: GibbsProblem) -> np.ndarray:
    """(PE, D, D) λB per pair-entry of the plan: λ Σ_{e∈p} k_e W_c W_cᵀ of its pair (current W and λ).

    The result lives in the problem's workspace (valid until the next call)."""
    w = state.W
    dims = w.shape[1]
    work = problem.workspace
    outer = np.einsum("ci,cj->cij", w, w).reshape(w.shape[0], dims * dims)
    per_pair = problem.data.pair_sample.matmul(
        outer, out=work.get("b_pair", (problem.data.pair_a.size, dims * dims))
    )
    per_pair *= state.precision
    pe_pair = problem.plan.pe_pair
    out = work.get("b_pe", (pe_pair.size, dims * dims))
    np.take(per_pair, pe_pair, axis=0, out=out)
    return out.reshape(-1, dims, dims)


def step_w(state: GibbsState, problem: GibbsProblem, draws: DrawSource) -> None:
    """Step 5: W[c,:] ~ N(Q⁻¹h, Q⁻¹), Q = λΣxxᵀ + diag(τ), h = λΣx(y − μ + x·W[c]), all c at once."""
    d = problem.data
    lam = state.precision
    c_total, dims = state.W.shape
    x = _pair_features(state, d)
    outer = problem.workspace.get("x_outer", (x.shape[0], dims, dims))
    np.multiply(x[:, :, None], x[:, None, :], out=outer)
    gram = d.sample_pair.matmul(outer.reshape(x.shape[0], dims * dims)).reshape(c_total, dims, dims)
    hr = d.sample_pair.matmul(x, d.entry_count * state.resid)
    h = lam * (hr + np.matmul(gram, state.W[:, :, None])[..., 0])
    q = _add_diagonal(lam * gram, np.broadcast_to(state.tau, (c_total, dims)))
    z = np.asarray(draws.normal((c_total, dims)))
    new, n_bad = _gaussian(q, h, z, state.W)
    state.n_nonpd += n_bad
    state.resid -= d.sample_pair.bilinear(new - state.W, x)
    state.W = new


def step_v2(
    state: GibbsState, problem: GibbsProblem, draws: DrawSource, b_pe: np.ndarray | None = None
) -> None:
    """Step 6: V2[m,:] ~ N(Q⁻¹h, Q⁻¹), x_n = W[c_n] ∘ Ṽ2[other], Q = λΣxxᵀ + diag(φ2[m] ∘ η2).

    ``b_pe``: :func:`_w_statistics` of the current state (computed when not given). With
    f = y − μ + W[c]·(Ṽ2[a] ∘ Ṽ2[b]) (constant in this step), Q_m = Σ_{pairs of m} λB_p ∘ v_o v_oᵀ and
    h_m = Σ_{pairs of m} v_o ∘ λΣ_{e∈p} k_e f_e W_c, v_o the current V2 of the other treatment.
    """
    d, plan = problem.data, problem.plan
    m_total = d.n_treatments
    lam = state.precision
    w = state.W
    dims = w.shape[1]
    if b_pe is None:
        b_pe = _w_statistics(state, problem)
    x2 = np.take(state.V2, d.pair_a, axis=0) * np.take(state.V2, d.pair_b, axis=0)
    free = state.resid + d.sample_pair.bilinear(w, x2)
    h_pe = np.take(d.pair_sample.matmul(w, d.entry_count * free) * lam, plan.pe_pair, axis=0)
    order = plan.order
    prior_o = (state.phi2 * state.eta2)[order]
    z_o = np.asarray(draws.normal((m_total, dims)))[order]
    v = np.take(state.V2, np.append(order, m_total), axis=0)
    vv = np.einsum("mi,mj->mij", v, v)
    other = plan.pe_other
    diagonal = np.arange(dims)
    scratch = problem.workspace.get(
        "v2_terms", (max((c[3] - c[2] for c in plan.classes), default=0), dims, dims)
    )
    for ms, mt, s, t, starts, nonempty in plan.classes:
        k = mt - ms
        if t > s:
            idx = other[s:t]
            terms = scratch[: t - s]
            np.take(vv, idx, axis=0, out=terms)
            np.multiply(terms, b_pe[s:t], out=terms)
            q = _segment_sum(terms, starts, nonempty, k)
            h = _segment_sum(h_pe[s:t] * np.take(v, idx, axis=0), starts, nonempty, k)
        else:
            q = np.zeros((k, dims, dims))
            h = np.zeros((k, dims))
        q[:, diagonal, diagonal] += prior_o[ms:mt]
        new, n_bad = _gaussian(q, h, z_o[ms:mt], v[ms:mt])
        state.n_nonpd += n_bad
        v[ms:mt] = new
        vv[ms:mt] = np.einsum("mi,mj->mij", new, new)
    v2 = state.V2.copy()
    v2[order] = v[:m_total]
    x2 = np.take(v2, d.pair_a, axis=0) * np.take(v2, d.pair_b, axis=0)
    state.resid = free - d.sample_pair.bilinear(w, x2)
    state.V2 = v2


def step_v1(
    state: GibbsState, problem: GibbsProblem, draws: DrawSource, b_pe: np.ndarray | None = None
) -> None:
    """Step 7: V1[m,:] ~ N(Q⁻¹h, Q⁻¹), x_n = W[c_n], Q = λΣxxᵀ + diag(φ1[m] ∘ η1), class by class.

    ``b_pe``: :func:`_w_statistics` of the current state (computed when not given). Q does not depend
    on V1, so all M factorisations happen at once; classes interact through h only:
    h_m = λ(Σ_{e∋m} k_e W_c(y − μ + W_c·V1[m])) − Σ_{pairs of m} λB_p ΔV1[other].
    """
    d, plan = problem.data, problem.plan
    m_total = d.n_treatments
    lam = state.precision
    w = state.W
    dims = w.shape[1]
    if b_pe is None:
        b_pe = _w_statistics(state, problem)
    outer = (w[:, :, None] * w[:, None, :]).reshape(w.shape[0], dims * dims)
    diag = (d.drug_sample @ outer).reshape(m_total, dims, dims)
    v1 = state.V1
    g = _drug_sample_sums(d, d.entry_count * state.resid) @ w + np.matmul(diag, v1[:m_total, :, None])[..., 0]
    q = _add_diagonal(lam * diag, state.phi1 * state.eta1)
    chol, ok = _cholesky(q)
    n_bad = int(m_total - np.count_nonzero(ok))
    state.n_nonpd += n_bad
    if n_bad:
        eye = np.eye(dims)
        q = np.where(ok[:, None, None], q, eye)
        chol = np.where(ok[:, None, None], chol, eye)
    z = np.asarray(draws.normal((m_total, dims)))
    order = plan.order
    inv_o = np.linalg.inv(q)[order]
    noise_o = np.matmul(chol, z[:, :, None])[order]
    g_o = lam * g[order]
    old_o = np.take(v1, np.append(order, m_total), axis=0)
    ok_o = ok[order]
    new_o = old_o.copy()
    delta = np.zeros((m_total + 1, dims))
    other = plan.pe_other
    for ms, mt, s, t, starts, nonempty in plan.classes:
        h = g_o[ms:mt]
        if t > s:
            dv = np.take(delta, other[s:t], axis=0)
            corr = np.matmul(b_pe[s:t], dv[:, :, None])[..., 0]
            h = h - _segment_sum(corr, starts, nonempty, mt - ms)
        new = np.matmul(inv_o[ms:mt], h[:, :, None] + noise_o[ms:mt])[..., 0]
        if n_bad:
            new = np.where(ok_o[ms:mt, None], new, old_o[ms:mt])
        new_o[ms:mt] = new
        delta[ms:mt] = new - old_o[ms:mt]
    v1_new = v1.copy()
    v1_new[order] = new_o[:m_total]
    change = v1_new - v1
    xc = np.take(change, d.pair_a, axis=0) + np.take(change, d.pair_b, axis=0)
    state.resid -= d.sample_pair.bilinear(w, xc)
    state.V1 = v1_new


def step_v0_v1_joint(state: GibbsState, problem: GibbsProblem, draws: DrawSource) -> None:
    """Step 4 of ``joint`` blocking: (V0[m], V1[m,:]) of all m as one Gaussian of M·(D+1) dimensions.

    Features of a row: u_c = [1, W[c]] in the blocks of a and b; Q = λΣffᵀ + diag(φ0η0, φ1∘η1),
    h = λΣf(y − μ + f·θ). Replaces steps 4 and 7.
    """
    d = problem.data
    m_total = d.n_treatments
    lam = state.precision
    c_total, dims = state.W.shape
    if m_total == 0:
        return
    d1 = dims + 1
    u = np.hstack([np.ones((c_total, 1)), state.W])
    outer = np.einsum("ci,cj->cij", u, u).reshape(c_total, d1 * d1) * lam
    size = m_total * d1
    q4 = problem.workspace.get("joint_q", (m_total, d1, m_total, d1))
    q4.fill(0.0)
    diag = np.arange(m_total)
    q4[diag, :, diag, :] = (d.drug_sample @ outer).reshape(m_total, d1, d1)
    dd = d.drug_drug_pairs
    if dd.size:
        per_pair = d.pair_sample.matmul(outer)[dd].reshape(dd.size, d1, d1)
        q4[d.pair_a[dd], :, d.pair_b[dd], :] = per_pair
        q4[d.pair_b[dd], :, d.pair_a[dd], :] = per_pair
    q = q4.reshape(size, size)  # λΣffᵀ
    theta = np.hstack([state.V0[:m_total, None], state.V1[:m_total]]).ravel()
    h = lam * (_drug_sample_sums(d, d.entry_count * state.resid) @ u).ravel() + q @ theta
    prior = np.hstack([(state.phi0 * state.eta0)[:, None], state.phi1 * state.eta1]).ravel()
    q.reshape(size * size)[:: size + 1] += prior
    z = np.asarray(draws.normal((m_total, d1))).reshape(size)
    new, n_bad = _gaussian_single(q, h, z, theta)
    state.n_nonpd += n_bad
    new = new.reshape(m_total, d1)
    v0, v1 = state.V0.copy(), state.V1.copy()
    v0[:m_total] = new[:, 0]
    v1[:m_total] = new[:, 1:]
    c0, c1 = v0 - state.V0, v1 - state.V1
    xc = np.take(c1, d.pair_a, axis=0) + np.take(c1, d.pair_b, axis=0)
    state.resid -= np.take(c0, d.entry_a) + np.take(c0, d.entry_b) + d.sample_pair.bilinear(state.W, xc)
    state.V0, state.V1 = v0, v1


def step_tau0(state: GibbsState, problem: GibbsProblem, draws: DrawSource) -> None:
    """Step 8: τ0 ~ Ga(a0 + C/2, b0 + ½ΣW0² + ε), clipped to [1/√(1 + N), 1e6]."""
    p, d = problem.params, problem.data
    low, _ = _bounds(d)
    rate = p.b0 + 0.5 * float(np.dot(state.W0, state.W0)) + EPS
    state.tau0 = float(np.clip(_ga(draws, p.a0 + 0.5 * d.n_samples, rate), low, CLIP_MAX))


def _local_global(
    state: GibbsState, problem: GibbsProblem, draws: DrawSource, which: str
) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """Steps 9, 11, 12 for V0 (``which`` "0"), V2 ("2") or V1 ("1"): new (ξ, φ, ζ, η)."""
    d = problem.data
    m_total = d.n_treatments
    low, low_phi = _bounds(d)
    v = getattr(state, f"V{which}")[:m_total]
    phi, xi = getattr(state, f"phi{which}"), getattr(state, f"xi{which}")
    eta, zeta = getattr(state, f"eta{which}"), getattr(state, f"zeta{which}")
    size = phi.shape
    if v.ndim == 2:
        low_phi = low_phi[:, None]
    v_sq = v * v
    if problem.params.local_shrinkage:
        xi = _ga(draws, 1.0, 1.0 + phi, size)
        phi = np.clip(_ga(draws, 1.0, xi + 0.5 * eta * v_sq + EPS, size), low_phi, CLIP_MAX)
    eta_size = None if v.ndim == 1 else (v.shape[1],)
    zeta = _ga(draws, 1.0, 1.0 + np.asarray(eta), eta_size)
    eta = np.clip(
        _ga(draws, 0.5 * (1 + m_total), zeta + 0.5 * (phi * v_sq).sum(axis=0) + EPS, eta_size), low, CLIP_MAX
    )
    if v.ndim == 1:
        zeta, eta = float(zeta), float(eta)
    return xi, phi, zeta, eta


def step_local_v0(state: GibbsState, problem: GibbsProblem, draws: DrawSource) -> None:
    """Step 9: ξ ~ Ga(1, 1 + φ0); φ0 ~ Ga(1, ξ + ½η0V0² + ε); ζ ~ Ga(1, 1 + η0);
    η0 ~ Ga((1 + M)/2, ζ + ½Σφ0V0² + ε); φ0 clipped to [1/√(1 + N_m), 1e6], η0 to [1/√(1 + N), 1e6]."""
    state.xi0, state.phi0, state.zeta0, state.eta0 = _local_global(state, problem, draws, "0")


def step_local_v2(state: GibbsState, problem: GibbsProblem, draws: DrawSource) -> None:
    """Step 11: φ2, η2 as step 9, elementwise; η2[d] sums φ2[m,d]V2[m,d]² over m."""
    state.xi2, state.phi2, state.zeta2, state.eta2 = _local_global(state, problem, draws, "2")


def step_local_v1(state: GibbsState, problem: GibbsProblem, draws: DrawSource) -> None:
    """Step 12: φ1, η1 as step 11."""
    state.xi1, state.phi1, state.zeta1, state.eta1 = _local_global(state, problem, draws, "1")


def step_precision(state: GibbsState, problem: GibbsProblem, draws: DrawSource) -> None:
    """Step 10: λ ~ Ga(a0 + N/2, b0 + ½Σ(y − μ)² + ε), clipped; without rows λ ~ Ga(a0, b0), unclipped."""
    p, d = problem.params, problem.data
    if d.n_obs == 0:
        state.precision = float(_ga(draws, p.a0, p.b0))
        return
    low, _ = _bounds(d)
    sq = d.ss_within + float(np.dot(d.entry_count, state.resid * state.resid))
    rate = p.b0 + 0.5 * sq + EPS
    state.precision = float(np.clip(_ga(draws, p.a0 + 0.5 * d.n_obs, rate), low, CLIP_MAX))


def step_column_precisions(state: GibbsState, problem: GibbsProblem, draws: DrawSource) -> None:
    """Step 13: the multiplicative gamma process γ_d in turn, then τ = clip(cumprod(γ)).

    γ_d ~ Ga(g_d + ½C(D − d), 1 + ½Σ_c Σ_{d'≥d}(τ_{d'}/γ_d)W[c,d']² + ε), g_0 = 2, g_{d≥1} = 3, with τ the
    cumprod of the current γ (γ not clipped). Without ``mult_gamma_proc``: τ_d ~ Ga(a0 + C/2,
    b0 + ½Σ_c W[c,d]² + ε).
    """
    p, d = problem.params, problem.data
    low, _ = _bounds(d)
    c_total, dims = state.W.shape
    col_sq = (state.W * state.W).sum(axis=0)
    if not p.mult_gamma_proc:
        tau = _ga(draws, p.a0 + 0.5 * c_total, p.b0 + 0.5 * col_sq + EPS, (dims,))
        state.tau = np.clip(tau, low, CLIP_MAX)
        return
    shapes = np.where(np.arange(dims) == 0, 2.0, 3.0) + 0.5 * c_total * (dims - np.arange(dims))
    std = np.asarray(draws.gamma(shapes, None), dtype=np.float64).tolist()
    gamma = state.gamma.tolist()
    sq = col_sq.tolist()
    # tail[d] = Σ_{d'≥d} (Π_{d<l≤d'} γ_l) s_{d'} with the γ not yet redrawn (those after d)
    tail = [0.0] * dims
    acc = 0.0
    for j in range(dims - 1, -1, -1):
        acc = sq[j] + (gamma[j + 1] * acc if j + 1 < dims else 0.0)
        tail[j] = acc
    head = 1.0  # Π_{l<d} γ_l, already redrawn
    for j in range(dims):
        rate = 1.0 + 0.5 * head * tail[j] + EPS
        gamma[j] = std[j] * (1.0 / rate)
        head *= gamma[j]
    state.gamma = np.array(gamma)
    state.tau = np.clip(np.cumprod(state.gamma), low, CLIP_MAX)


def sweep(state: GibbsState, problem: GibbsProblem, draws: DrawSource) -> None:
    """One Gibbs sweep, steps 1..13 of spec §4 in order (module docstring), updating ``state``."""
    step_residuals(state, problem)
    step_alpha(state, problem, draws)
    step_w0(state, problem, draws)
    if problem.joint:
        step_v0_v1_joint(state, problem, draws)
    else:
        step_v0(state, problem, draws)
    step_w(state, problem, draws)
    b_pe = _w_statistics(state, problem)
    step_v2(state, problem, draws, b_pe)
    if not problem.joint:
        step_v1(state, problem, draws, b_pe)
    step_tau0(state, problem, draws)
    step_local_v0(state, problem, draws)
    step_precision(state, problem, draws)
    step_local_v2(state, problem, draws)
    step_local_v1(state, problem, draws)
    step_column_precisions(state, problem, draws)


SAMPLE_KEYS = ("W", "W0", "V2", "V1", "V0", "alpha", "precision")


def sample_chain(
    screen: Screen,
    params: SparseDrugComboParams,
    mcmc: McmcParams,
    rng: np.random.Generator,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Run one chain on the observed rows of ``screen``: ``n_burnin`` sweeps, then ``n_samples · thin``
    sweeps keeping the state after every ``thin``-th.

    Returns f8 arrays with a leading sample axis S = ``n_samples``: ``W`` (S, C, D), ``W0`` (S, C),
    ``V2`` (S, M, D), ``V1`` (S, M, D), ``V0`` (S, M), ``alpha`` (S,), ``precision`` (S,) (λ).
    All randomness comes from ``rng``; the same seed gives identical samples.
    """
    problem = make_problem(screen, params, mcmc)
    data = problem.data
    c_total, m_total, dims = data.n_samples, data.n_treatments, problem.n_dims
    state = init_state(data, dims)
    draws = Draws(rng)
    n_keep, thin = mcmc.n_samples, mcmc.thin
    out = {
        "W": np.empty((n_keep, c_total, dims)),
        "W0": np.empty((n_keep, c_total)),
        "V2": np.empty((n_keep, m_total, dims)),
        "V1": np.empty((n_keep, m_total, dims)),
        "V0": np.empty((n_keep, m_total)),
        "alpha": np.empty(n_keep),
        "precision": np.empty(n_keep),
    }
    logger.debug(
        "gibbs: %d observed rows in %d entries, C=%d, M=%d, D=%d, blocking %s (%d classes%s)",
        data.n_obs,
        data.n_entries,
        c_total,
        m_total,
        dims,
        mcmc.blocking,
        problem.plan.n_colours,
        ", V0/V1 joint" if problem.joint else "",
    )
    total = mcmc.n_burnin + n_keep * thin
    sweeps = range(total)
    for i in progress_bar(sweeps, desc="gibbs sweeps", total=total) if progress else sweeps:
        sweep(state, problem, draws)
        kept = i + 1 - mcmc.n_burnin
        if kept > 0 and kept % thin == 0:
            j = kept // thin - 1
            out["W"][j] = state.W
            out["W0"][j] = state.W0
            out["V2"][j] = state.V2[:m_total]
            out["V1"][j] = state.V1[:m_total]
            out["V0"][j] = state.V0[:m_total]
            out["alpha"][j] = state.alpha
            out["precision"][j] = state.precision
    if state.n_nonpd:
        logger.warning(
            "gibbs: %d precision blocks were not positive definite and kept their old value", state.n_nonpd
        )
    else:
        logger.info("gibbs: %d sweeps, no non-positive-definite precision block", total)
    return out
