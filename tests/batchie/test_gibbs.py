"""Gibbs sampler of ``SparseDrugCombo`` (spec §4, §11.5) against a per-row reference written here.

The reference below is a plain-loop implementation of spec §4, straight from the formulas: per row, per
treatment id, per sample, with μ recomputed for the affected rows after every block. With the same
injected draws (same call sequence, documented in ``snakelab.batchie.models.gibbs``) every batched
block update of the library equals it within 1e-10, for the ``colour``, ``sequential`` and ``joint``
blockings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pytest
from scipy.linalg import solve_triangular

from snakelab.batchie.data import Screen
from snakelab.batchie.models import gibbs
from snakelab.batchie.models.gibbs import EPS, GibbsProblem, GibbsState
from snakelab.batchie.models.params import McmcParams, SparseDrugComboParams
from snakelab.batchie.synthetic import make_synthetic, small_preset
from snakelab.core.errors import InputError

TOL = 1e-10
FIELDS = (
    "W W0 V0 V1 V2 phi0 phi1 phi2 xi0 xi1 xi2 eta0 eta1 eta2 zeta0 zeta1 zeta2 gamma tau tau0 alpha "
    "precision n_nonpd"
).split()


# ------------------------------------------------------------------------------------------ fixtures


class SeededDraws:
    """Injected draws: a seeded generator; records the call sequence so both sides can be compared."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.calls: list[tuple] = []

    def normal(self, size):
        self.calls.append(("normal", size))
        return self.rng.standard_normal(size)

    def gamma(self, shape, size):
        self.calls.append(("gamma", np.asarray(shape).tolist(), size))
        return self.rng.standard_gamma(shape, size)


class ConstantDraws:
    """Injected draws returning constants: normal → 0 (the conditional means); gamma → ``values`` in turn,
    one per call, cycling."""

    def __init__(self, *values: float) -> None:
        self.values = values
        self.count = 0

    def normal(self, size):
        return np.zeros(size) if size is not None else 0.0

    def gamma(self, shape, size):
        value = self.values[self.count % len(self.values)]
        self.count += 1
        out = np.full(np.broadcast_shapes(np.shape(shape), size or ()), value)
        return out if out.ndim else float(out)


def random_screen(seed: int, arity: int = 2, n_rows: int = 48) -> Screen:
    """Small random screen: 7 drug-doses (d6 and sample s4 only in an unobserved plate), duplicate rows,
    controls in either slot, a control-control row, observations exactly 0 and 1 (clipped). Pairs join an
    even and an odd id, so the colour classes are {0, 2, 4, 6}, {1, 3, 5}: an order unlike the ids'."""
    rng = np.random.default_rng(seed)
    drugs = [f"d{i}" for i in range(6)]
    names, samples = [], []
    for _ in range(n_rows):
        if arity == 1:
            names.append([drugs[rng.integers(6)]])
        else:
            pick = [drugs[2 * rng.integers(3)], drugs[2 * rng.integers(3) + 1]]  # even with odd ids
            if rng.random() < 0.5:
                pick = pick[::-1]
            if rng.random() < 0.2:
                pick[rng.integers(2)] = "control"
            names.append(pick)
        samples.append(f"s{rng.integers(4)}")
    names += names[:5]  # duplicate (sample, pair) rows
    samples += samples[:5]
    if arity == 2:
        names.append(["control", "control"])
        samples.append("s0")
    n_obs = len(names)
    plates = [f"p{i // 6:02d}" for i in range(n_obs)]
    obs = list(rng.uniform(0.0, 1.0, n_obs))
    obs[0], obs[1] = 0.0, 1.0
    # unobserved plate: the only rows of d6 and s4
    unobserved = [["d6", "d1"], ["d2", "d6"]] if arity == 2 else [["d6"], ["d2"]]
    names += unobserved
    samples += ["s4", "s1"]
    plates += ["zz", "zz"]
    obs += [0.0, 0.0]
    mask = np.array([True] * n_obs + [False, False])
    doses = np.where(np.array(names) == "control", 0.0, 1.0)
    return Screen(names, doses, samples, plates, np.array(obs), mask, control_treatment_name="control")


class Rows:
    """The observed rows of a screen for the reference: sample c (N,), treatments t (N, a), logit y."""

    def __init__(self, screen: Screen) -> None:
        mask = screen.observation_mask
        self.c = screen.sample_ids[mask]
        self.t = screen.treatment_ids[mask]
        obs = np.clip(screen.observations[mask].astype(np.float32), np.float32(0.01), np.float32(0.99))
        obs = obs.astype(np.float64)
        self.y = np.log(obs / (1.0 - obs))
        self.n = self.y.size
        self.arity = self.t.shape[1]
        self.C = screen.experiment_space.n_samples
        self.M = screen.experiment_space.n_treatments

    def holding(self, m: int) -> list[int]:
        return [n for n in range(self.n) if m in self.t[n]]

    def other(self, n: int, m: int) -> int:
        if self.arity == 1:
            return -1
        a, b = self.t[n]
        return b if a == m else a


def random_state(problem: GibbsProblem, seed: int) -> GibbsState:
    """A consistent random state (residuals from step 1)."""
    rng = np.random.default_rng(seed)
    d = problem.data
    c, m, dims = d.n_samples, d.n_treatments, problem.n_dims
    st = gibbs.init_state(d, dims)
    st.W = rng.normal(0, 0.7, (c, dims))
    st.W0 = rng.normal(0, 0.5, c)
    for name, shape in (("V0", (m,)), ("V1", (m, dims)), ("V2", (m, dims))):
        arr = np.zeros((m + 1, *shape[1:]))
        arr[:m] = rng.normal(0, 0.6, shape)
        setattr(st, name, arr)
    for name, shape in (("phi0", (m,)), ("phi1", (m, dims)), ("phi2", (m, dims))):
        setattr(st, name, rng.uniform(0.5, 3.0, shape))
    st.eta0 = float(rng.uniform(0.5, 2.0))
    st.eta1, st.eta2 = rng.uniform(0.5, 2.0, dims), rng.uniform(0.5, 2.0, dims)
    st.gamma = rng.uniform(0.6, 1.8, dims)
    st.tau = np.cumprod(st.gamma)
    st.tau0 = float(rng.uniform(0.5, 3.0))
    st.alpha = float(rng.normal())
    st.precision = float(rng.uniform(0.8, 4.0))
    gibbs.step_residuals(st, problem)
    return st


def problem_for(screen: Screen, blocking: str, dims: int = 3, **params) -> GibbsProblem:
    return gibbs.make_problem(
        screen, SparseDrugComboParams(n_embedding_dimensions=dims, **params), McmcParams(blocking=blocking)
    )


# ----------------------------------------------------------------------------- per-row reference


def tilde(arr: np.ndarray, t: int) -> np.ndarray:
    """X̃[t]: the row for t ≥ 0, zeros for the control −1."""
    return arr[t] if t >= 0 else np.zeros_like(arr[0])


def ref_mu_row(st: GibbsState, rows: Rows, n: int) -> float:
    c = rows.c[n]
    value = st.alpha + st.W0[c]
    x = np.zeros(st.W.shape[1])
    for t in rows.t[n]:
        value += tilde(st.V0, t)
        x = x + tilde(st.V1, t)
    if rows.arity == 2:
        x = x + tilde(st.V2, rows.t[n][0]) * tilde(st.V2, rows.t[n][1])
    return float(value + st.W[c] @ x)


def ref_mu(st: GibbsState, rows: Rows) -> np.ndarray:
    return np.array([ref_mu_row(st, rows, n) for n in range(rows.n)])


def ref_gaussian(q: np.ndarray, h: np.ndarray, z: np.ndarray, old: np.ndarray, st: GibbsState) -> np.ndarray:
    """N(Q⁻¹h, Q⁻¹) as mean + L⁻ᵀz; a non-PD Q keeps ``old`` and counts."""
    try:
        chol = np.linalg.cholesky(q)
    except np.linalg.LinAlgError:
        chol = np.full_like(q, np.nan)
    if not np.all(np.isfinite(chol)):
        st.n_nonpd += 1
        return old
    return np.linalg.solve(q, h) + solve_triangular(chol.T, z, lower=False)


def ga(draws, shape, rate, size=None):
    return draws.gamma(shape, size) / rate


def ref_alpha(st, rows, params, draws):
    if rows.n == 0:
        return
    if params.fake_intercept:
        st.alpha = float(np.mean(rows.y))
    else:
        mu = ref_mu(st, rows)
        st.alpha = float(np.mean(rows.y - mu + st.alpha) + draws.normal(None) / np.sqrt(rows.n))


def ref_w0(st, rows, params, draws):
    mu = ref_mu(st, rows)
    z = draws.normal((rows.C,))
    new = st.W0.copy()
    for c in range(rows.C):
        members = [n for n in range(rows.n) if rows.c[n] == c]
        r = sum(rows.y[n] - mu[n] + st.W0[c] for n in members)
        prec = st.precision * len(members) + st.tau0
        new[c] = st.precision * r / prec + z[c] / np.sqrt(prec)
    st.W0 = new


def ref_v0(st, rows, params, draws, order):
    mu = ref_mu(st, rows)
    z = draws.normal((rows.M,))
    lam = st.precision
    for m in order:
        members = rows.holding(m)
        r = sum(rows.y[n] - mu[n] + st.V0[m] for n in members)
        prec = lam * len(members) + st.phi0[m] * st.eta0
        st.V0[m] = lam * r / prec + z[m] / np.sqrt(prec)
        for n in members:
            mu[n] = ref_mu_row(st, rows, n)


def ref_w(st, rows, params, draws):
    mu = ref_mu(st, rows)
    dims = st.W.shape[1]
    z = draws.normal((rows.C, dims))
    lam = st.precision
    for c in range(rows.C):
        q = np.diag(st.tau).astype(float)
        h = np.zeros(dims)
        for n in range(rows.n):
            if rows.c[n] != c:
                continue
            x = sum(tilde(st.V1, t) for t in rows.t[n])
            if rows.arity == 2:
                x = x + tilde(st.V2, rows.t[n][0]) * tilde(st.V2, rows.t[n][1])
            q += lam * np.outer(x, x)
            h += lam * x * (rows.y[n] - mu[n] + x @ st.W[c])
        st.W[c] = ref_gaussian(q, h, z[c], st.W[c].copy(), st)
    # all rows of sample c depend only on W[c]: recomputing μ at the end is the same as per block


def ref_embedding(st, rows, params, draws, order, which: str):
    """Steps 6 (``which`` = "2") and 7 ("1"): per treatment id in ``order``."""
    v = getattr(st, f"V{which}")
    prior = getattr(st, f"phi{which}") * getattr(st, f"eta{which}")
    mu = ref_mu(st, rows)
    dims = st.W.shape[1]
    z = draws.normal((rows.M, dims))
    lam = st.precision
    for m in order:
        members = rows.holding(m)
        q = np.diag(prior[m]).astype(float)
        h = np.zeros(dims)
        for n in members:
            w = st.W[rows.c[n]]
            x = w * tilde(st.V2, rows.other(n, m)) if which == "2" else w
            q += lam * np.outer(x, x)
            h += lam * x * (rows.y[n] - mu[n] + x @ v[m])
        v[m] = ref_gaussian(q, h, z[m], v[m].copy(), st)
        for n in members:
            mu[n] = ref_mu_row(st, rows, n)


def ref_joint(st, rows, params, draws):
    mu = ref_mu(st, rows)
    m_total, dims = rows.M, st.W.shape[1]
    d1 = dims + 1
    size = m_total * d1
    lam = st.precision
    prior = np.zeros(size)
    theta = np.zeros(size)
    for m in range(m_total):
        prior[m * d1] = st.phi0[m] * st.eta0
        prior[m * d1 + 1 : (m + 1) * d1] = st.phi1[m] * st.eta1
        theta[m * d1] = st.V0[m]
        theta[m * d1 + 1 : (m + 1) * d1] = st.V1[m]
    q = np.diag(prior)
    h = np.zeros(size)
    for n in range(rows.n):
        f = np.zeros(size)
        for t in rows.t[n]:
            if t >= 0:
                f[t * d1] += 1.0
                f[t * d1 + 1 : (t + 1) * d1] += st.W[rows.c[n]]
        q += lam * np.outer(f, f)
        h += lam * f * (rows.y[n] - mu[n] + f @ theta)
    z = draws.normal((m_total, d1)).ravel()
    new = ref_gaussian(q, h, z, theta, st).reshape(m_total, d1)
    st.V0[:m_total] = new[:, 0]
    st.V1[:m_total] = new[:, 1:]


def ref_bounds(rows: Rows) -> tuple[float, np.ndarray]:
    counts = np.array([len(rows.holding(m)) for m in range(rows.M)], dtype=float)
    return 1 / np.sqrt(1 + rows.n), 1 / np.sqrt(1 + counts)


def ref_tau0(st, rows, params, draws):
    low, _ = ref_bounds(rows)
    rate = params.b0 + 0.5 * sum(w * w for w in st.W0) + EPS
    st.tau0 = float(np.clip(ga(draws, params.a0 + rows.C / 2, rate), low, 1e6))


def ref_local(st, rows, params, draws, which: str):
    low, low_phi = ref_bounds(rows)
    v = getattr(st, f"V{which}")[: rows.M]
    phi = getattr(st, f"phi{which}").copy()
    eta = np.atleast_1d(np.asarray(getattr(st, f"eta{which}"), dtype=float)).copy()
    scalar = v.ndim == 1
    v2 = v.reshape(rows.M, -1)
    phi2 = phi.reshape(rows.M, -1)
    dims = v2.shape[1]
    if params.local_shrinkage:
        g_xi = np.asarray(draws.gamma(1.0, phi.shape)).reshape(rows.M, -1)
        xi = np.empty_like(phi2)
        for m in range(rows.M):
            for d in range(dims):
                xi[m, d] = g_xi[m, d] / (1 + phi2[m, d])
        g_phi = np.asarray(draws.gamma(1.0, phi.shape)).reshape(rows.M, -1)
        for m in range(rows.M):
            for d in range(dims):
                rate = xi[m, d] + 0.5 * eta[d] * v2[m, d] ** 2 + EPS
                phi2[m, d] = np.clip(g_phi[m, d] / rate, low_phi[m], 1e6)
        setattr(st, f"xi{which}", xi.reshape(phi.shape))
        setattr(st, f"phi{which}", phi2.reshape(phi.shape))
    size = None if scalar else (dims,)
    g_zeta = np.atleast_1d(draws.gamma(1.0, size))
    zeta = np.array([g_zeta[d] / (1 + eta[d]) for d in range(dims)])
    g_eta = np.atleast_1d(draws.gamma((1 + rows.M) / 2, size))
    for d in range(dims):
        s = sum(phi2[m, d] * v2[m, d] ** 2 for m in range(rows.M))
        eta[d] = np.clip(g_eta[d] / (zeta[d] + 0.5 * s + EPS), low, 1e6)
    setattr(st, f"zeta{which}", float(zeta[0]) if scalar else zeta)
    setattr(st, f"eta{which}", float(eta[0]) if scalar else eta)


def ref_precision(st, rows, params, draws):
    if rows.n == 0:
        st.precision = float(ga(draws, params.a0, params.b0))
        return
    low, _ = ref_bounds(rows)
    mu = ref_mu(st, rows)
    rate = params.b0 + 0.5 * sum((rows.y[n] - mu[n]) ** 2 for n in range(rows.n)) + EPS
    st.precision = float(np.clip(ga(draws, params.a0 + rows.n / 2, rate), low, 1e6))


def ref_columns(st, rows, params, draws):
    low, _ = ref_bounds(rows)
    c_total, dims = st.W.shape
    if not params.mult_gamma_proc:
        g = draws.gamma(params.a0 + c_total / 2, (dims,))
        st.tau = np.array(
            [
                np.clip(
                    g[d] / (params.b0 + 0.5 * sum(st.W[c, d] ** 2 for c in range(c_total)) + EPS), low, 1e6
                )
                for d in range(dims)
            ]
        )
        return
    shapes = np.array([(2.0 if d == 0 else 3.0) + 0.5 * c_total * (dims - d) for d in range(dims)])
    g = draws.gamma(shapes, None)
    gamma = st.gamma.copy()
    for d in range(dims):
        tau = np.cumprod(gamma)
        s = sum(tau[dp] / gamma[d] * st.W[c, dp] ** 2 for c in range(c_total) for dp in range(d, dims))
        gamma[d] = g[d] / (1 + 0.5 * s + EPS)
    st.gamma = gamma
    st.tau = np.clip(np.cumprod(gamma), low, 1e6)


def ref_sweep(st, rows, params, draws, order, joint):
    ref_alpha(st, rows, params, draws)
    ref_w0(st, rows, params, draws)
    if joint:
        ref_joint(st, rows, params, draws)
    else:
        ref_v0(st, rows, params, draws, order)
    ref_w(st, rows, params, draws)
    ref_embedding(st, rows, params, draws, order, "2")
    if not joint:
        ref_embedding(st, rows, params, draws, order, "1")
    ref_tau0(st, rows, params, draws)
    ref_local(st, rows, params, draws, "0")
    ref_precision(st, rows, params, draws)
    ref_local(st, rows, params, draws, "2")
    ref_local(st, rows, params, draws, "1")
    ref_columns(st, rows, params, draws)


# ------------------------------------------------------------------------------------- comparisons


def assert_states_equal(lib: GibbsState, ref: GibbsState, rows: Rows, problem: GibbsProblem) -> None:
    for name in FIELDS:
        np.testing.assert_allclose(getattr(lib, name), getattr(ref, name), rtol=TOL, atol=TOL, err_msg=name)
    # the library's residuals are current: ȳ_e − r_e is the per-row μ of the reference
    mu_lib = (problem.data.entry_mean - lib.resid)[problem.data.row_entry]
    np.testing.assert_allclose(mu_lib, ref_mu(ref, rows), rtol=TOL, atol=TOL, err_msg="mu")


STEPS: dict[str, tuple[Callable, Callable]] = {
    "alpha": (gibbs.step_alpha, lambda st, rows, p, dr, order: ref_alpha(st, rows, p, dr)),
    "w0": (gibbs.step_w0, lambda st, rows, p, dr, order: ref_w0(st, rows, p, dr)),
    "v0": (gibbs.step_v0, ref_v0),
    "w": (gibbs.step_w, lambda st, rows, p, dr, order: ref_w(st, rows, p, dr)),
    "v2": (gibbs.step_v2, lambda st, rows, p, dr, order: ref_embedding(st, rows, p, dr, order, "2")),
    "v1": (gibbs.step_v1, lambda st, rows, p, dr, order: ref_embedding(st, rows, p, dr, order, "1")),
    "tau0": (gibbs.step_tau0, lambda st, rows, p, dr, order: ref_tau0(st, rows, p, dr)),
    "local0": (gibbs.step_local_v0, lambda st, rows, p, dr, order: ref_local(st, rows, p, dr, "0")),
    "precision": (gibbs.step_precision, lambda st, rows, p, dr, order: ref_precision(st, rows, p, dr)),
    "local2": (gibbs.step_local_v2, lambda st, rows, p, dr, order: ref_local(st, rows, p, dr, "2")),
    "local1": (gibbs.step_local_v1, lambda st, rows, p, dr, order: ref_local(st, rows, p, dr, "1")),
    "columns": (gibbs.step_column_precisions, lambda st, rows, p, dr, order: ref_columns(st, rows, p, dr)),
}


def run_both(problem, step_lib, step_ref, state, rows, order, seed=7):
    lib, ref = state.copy(), state.copy()
    draws_lib, draws_ref = SeededDraws(seed), SeededDraws(seed)
    step_lib(lib, problem, draws_lib)
    step_ref(ref, rows, problem.params, draws_ref, order)
    assert draws_lib.calls == draws_ref.calls
    return lib, ref


@pytest.mark.parametrize("blocking", ["colour", "sequential"])
@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("arity", [2, 1])
def test_each_step_equals_per_row_reference(blocking: str, step: str, arity: int) -> None:
    screen = random_screen(3, arity=arity)
    problem = problem_for(screen, blocking, fake_intercept=False)
    rows = Rows(screen)
    if blocking == "colour" and arity == 2:
        np.testing.assert_array_equal(problem.plan.order, [0, 2, 4, 6, 1, 3, 5])
    state = random_state(problem, 11)
    lib, ref = run_both(problem, *STEPS[step], state, rows, problem.plan.order)
    assert_states_equal(lib, ref, rows, problem)
    changed = {name for name in FIELDS if not np.array_equal(getattr(lib, name), getattr(state, name))}
    assert changed, f"step {step} changed nothing"


@pytest.mark.parametrize(("arity", "dims"), [(2, 2), (1, 2), (2, 12)])
def test_joint_block_equals_per_row_reference(arity: int, dims: int) -> None:
    # dims 12: 7 · 13 = 91 dimensions, beyond the 64 of one triangular block (recursive solves)
    screen = random_screen(5, arity=arity)
    problem = problem_for(screen, "joint", dims=dims)
    assert problem.joint
    rows = Rows(screen)
    state = random_state(problem, 12)
    lib, ref = run_both(
        problem,
        gibbs.step_v0_v1_joint,
        lambda st, rw, p, dr, order: ref_joint(st, rw, p, dr),
        state,
        rows,
        None,
    )
    assert_states_equal(lib, ref, rows, problem)


@pytest.fixture(params=["dense", "sparse"])
def incidence_storage(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with the (C × P) incidences stored densely (BLAS) or as sorted segments."""
    if request.param == "sparse":
        monkeypatch.setattr(gibbs, "_DENSE_PER_ENTRY", 0)
        monkeypatch.setattr(gibbs, "_DENSE_MIN", 0)
    return request.param


@pytest.mark.parametrize("blocking", ["colour", "sequential", "joint"])
@pytest.mark.parametrize(
    "options", [{}, {"fake_intercept": False, "mult_gamma_proc": False, "local_shrinkage": False}]
)
def test_sweeps_equal_per_row_reference(blocking: str, options: dict, incidence_storage: str) -> None:
    screen = random_screen(8)
    problem = problem_for(screen, blocking, dims=3, **options)
    assert problem.data.sample_pair.dense == (incidence_storage == "dense")
    rows = Rows(screen)
    lib = gibbs.init_state(problem.data, 3)
    ref = lib.copy()
    draws_lib, draws_ref = SeededDraws(1), SeededDraws(1)
    for _ in range(3):
        gibbs.sweep(lib, problem, draws_lib)
        ref_sweep(ref, rows, problem.params, draws_ref, problem.plan.order, problem.joint)
        assert draws_lib.calls == draws_ref.calls
        assert_states_equal(lib, ref, rows, problem)
    assert lib.precision != 100.0 and np.any(lib.V2 != 0)


def test_step_one_recomputes_mu_from_scratch() -> None:
    screen = random_screen(4)
    problem = problem_for(screen, "colour")
    rows = Rows(screen)
    state = random_state(problem, 3)
    state.resid = np.full_like(state.resid, 123.0)
    gibbs.step_residuals(state, problem)
    mu = (problem.data.entry_mean - state.resid)[problem.data.row_entry]
    np.testing.assert_allclose(mu, ref_mu(state, rows), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        mu,
        gibbs.mean_logit(
            state.W, state.W0, state.V0[:-1], state.V1[:-1], state.V2[:-1], state.alpha, rows.c, rows.t
        ),
        rtol=0,
        atol=1e-12,
    )


# ---------------------------------------------------------------------- colouring and block plans


def test_greedy_colouring_exact_and_independent() -> None:
    # path 0-1-2-3 plus edge 0-2 and isolated 4: 0→0, 1→1, 2→2 (neighbours 0,1), 3→0, 4→0
    colours = gibbs.greedy_colouring(5, [0, 1, 2, 0], [1, 2, 3, 2])
    np.testing.assert_array_equal(colours, [0, 1, 2, 0, 0])
    screen = random_screen(9)
    problem = problem_for(screen, "colour")
    d = problem.data
    dd = d.drug_drug_pairs
    colours = gibbs.greedy_colouring(d.n_treatments, d.pair_a[dd], d.pair_b[dd])
    adjacent = {(int(a), int(b)) for a, b in zip(d.pair_a[dd], d.pair_b[dd], strict=True)}
    for m in range(d.n_treatments):  # brute force: smallest colour unused by lower neighbours
        lower = {colours[k] for k in range(m) if (k, m) in adjacent}
        assert colours[m] == min(set(range(d.n_treatments + 1)) - lower)
    assert all(colours[a] != colours[b] for a, b in adjacent)
    order = problem.plan.order
    np.testing.assert_array_equal(order, np.lexsort((np.arange(d.n_treatments), colours)))


def test_default_synthetic_screen_has_thirty_colour_classes_of_two_doses() -> None:
    screen, _ = make_synthetic()
    problem = problem_for(screen, "colour", dims=5)
    assert problem.plan.n_colours == 30
    assert problem.data.n_obs == 10_100
    sequential = problem_for(screen, "sequential", dims=5)
    assert sequential.plan.n_colours == 60
    assert problem_for(screen, "joint", dims=5).joint  # 60·6 = 360 ≤ 1024
    assert not problem_for(screen, "joint", dims=20).joint  # 60·21 > 1024: colour classes


# ---------------------------------------------------------------- priors, clipping, non-PD blocks


def test_blocks_without_rows_are_prior_draws() -> None:
    screen = random_screen(2)
    problem = problem_for(screen, "colour")
    d = problem.data
    m, c = d.n_treatments - 1, d.n_samples - 1  # d6 and s4 appear only in the unobserved plate
    assert d.drug_count[m] == 0 and d.sample_count[c] == 0
    state = random_state(problem, 5)
    draws = SeededDraws(0)
    z = np.random.default_rng(0).standard_normal(d.n_samples)
    gibbs.step_w0(state, problem, draws)
    assert state.W0[c] == pytest.approx(z[c] / np.sqrt(state.tau0), rel=1e-14)
    before = state.copy()
    gibbs.step_v0(state, problem, SeededDraws(1))
    z = np.random.default_rng(1).standard_normal(d.n_treatments)
    assert state.V0[m] == pytest.approx(z[m] / np.sqrt(before.phi0[m] * before.eta0), rel=1e-12)
    gibbs.step_v1(state, problem, SeededDraws(2))
    z = np.random.default_rng(2).standard_normal((d.n_treatments, 3))
    np.testing.assert_allclose(state.V1[m], z[m] / np.sqrt(state.phi1[m] * state.eta1), rtol=1e-12)
    assert state.V0[-1] == 0 and np.all(state.V1[-1] == 0) and np.all(state.V2[-1] == 0)


def test_constant_draws_give_conditional_means_and_clipping_bounds() -> None:
    screen = random_screen(6)
    problem = problem_for(screen, "colour")
    rows = Rows(screen)
    low, low_phi = ref_bounds(rows)
    state = random_state(problem, 1)
    tiny = ConstantDraws(1e-300)
    for step in (gibbs.step_tau0, gibbs.step_local_v0, gibbs.step_precision, gibbs.step_local_v1):
        step(state, problem, tiny)
    assert state.tau0 == low and state.eta0 == low and state.precision == low
    np.testing.assert_array_equal(state.phi0, low_phi)
    np.testing.assert_array_equal(state.phi1, np.broadcast_to(low_phi[:, None], state.phi1.shape))
    np.testing.assert_array_equal(state.eta1, low)
    gibbs.step_column_precisions(state, problem, tiny)
    assert np.all(state.gamma < 1e-290)  # γ is not clipped
    np.testing.assert_array_equal(state.tau, low)
    huge = ConstantDraws(1e300)
    for step in (gibbs.step_tau0, gibbs.step_precision, gibbs.step_column_precisions):
        step(state, problem, huge)
    assert state.tau0 == 1e6 and state.precision == 1e6
    np.testing.assert_array_equal(state.tau, 1e6)
    gibbs.step_local_v2(state, problem, ConstantDraws(1e-300, 1e300))  # ξ, ζ → 0; φ2, η2 → huge
    np.testing.assert_array_equal(state.phi2, 1e6)
    np.testing.assert_array_equal(state.eta2, 1e6)
    # zero normal draws: W0 is its conditional mean λR_c/(λN_c + τ0)
    before = random_state(problem, 2)
    state = before.copy()
    mu = ref_mu(before, rows)
    gibbs.step_w0(state, problem, ConstantDraws(1.0))
    for c in range(rows.C):
        members = rows.c == c
        r = np.sum(rows.y[members] - mu[members] + before.W0[c])
        expected = before.precision * r / (before.precision * members.sum() + before.tau0)
        assert state.W0[c] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_precision_without_rows_is_prior_and_unclipped() -> None:
    screen = random_screen(1)
    empty = screen.subset(np.zeros(screen.size, dtype=bool))
    problem = gibbs.make_problem(empty, SparseDrugComboParams(n_embedding_dimensions=2), McmcParams())
    state = gibbs.init_state(problem.data, 2)
    gibbs.step_precision(state, problem, ConstantDraws(1e-300))
    assert state.precision == pytest.approx(1e-300 / 1.1)
    draws = SeededDraws(4)
    gibbs.sweep(state, problem, draws)  # everything from the prior, nothing breaks
    assert state.alpha == 0.0 and np.all(np.isfinite(state.W))


def test_non_positive_definite_blocks_keep_old_value_and_are_counted() -> None:
    screen = random_screen(3)
    problem = problem_for(screen, "colour")
    rows = Rows(screen)
    state = random_state(problem, 4)
    bad = 2
    state.phi2[bad] = -1e6  # Q of V2[bad] is negative definite
    lib, ref = run_both(problem, *STEPS["v2"], state, rows, problem.plan.order)
    assert lib.n_nonpd == 1 and ref.n_nonpd == 1
    np.testing.assert_array_equal(lib.V2[bad], state.V2[bad])
    assert_states_equal(lib, ref, rows, problem)
    state = random_state(problem, 4)
    state.tau[0] = -1e6  # every W block fails
    lib = state.copy()
    gibbs.step_w(lib, problem, SeededDraws(0))
    assert lib.n_nonpd == problem.data.n_samples
    np.testing.assert_array_equal(lib.W, state.W)
    state = random_state(problem, 4)
    state.phi1[1, 0] = np.nan
    lib, ref = run_both(problem, *STEPS["v1"], state, rows, problem.plan.order)
    assert lib.n_nonpd == 1
    assert_states_equal(lib, ref, rows, problem)


def test_incidence_products_dense_and_sparse_agree() -> None:
    rng = np.random.default_rng(3)
    rows = np.array([0, 0, 2, 3, 3, 3, 5])  # rows 1 and 4 empty
    cols = np.array([1, 4, 0, 2, 3, 4, 1])
    weights = rng.uniform(1, 3, rows.size)
    matrix = np.zeros((6, 5))
    matrix[rows, cols] = weights
    x = rng.normal(size=(5, 3, 2))
    values = rng.normal(size=rows.size)
    with_values = np.zeros((6, 5))
    with_values[rows, cols] = values
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(5, 4))
    for factor, minimum in ((16, 4096), (0, 0)):
        gibbs._DENSE_PER_ENTRY, gibbs._DENSE_MIN = factor, minimum
        try:
            inc = gibbs._Incidence(rows, cols, weights, (6, 5))
        finally:
            gibbs._DENSE_PER_ENTRY, gibbs._DENSE_MIN = 16, 4096
        assert inc.dense == (factor > 0)
        np.testing.assert_allclose(inc.matmul(x), np.einsum("rk,kij->rij", matrix, x), atol=1e-14)
        out = np.full((6, 3, 2), np.nan)
        inc.matmul(x, values, out=out)
        np.testing.assert_allclose(out, np.einsum("rk,kij->rij", with_values, x), atol=1e-14)
        np.testing.assert_allclose(inc.bilinear(a, b), np.einsum("nd,nd->n", a[rows], b[cols]), atol=1e-14)


def test_blocked_triangular_solves() -> None:
    rng = np.random.default_rng(0)
    n = 300
    chol = np.tril(rng.normal(size=(n, n)) * 0.1) + np.diag(rng.uniform(1, 2, n))
    b = rng.normal(size=n)
    np.testing.assert_allclose(
        gibbs._lower_solve(chol, b, False), solve_triangular(chol, b, lower=True), atol=1e-12
    )
    np.testing.assert_allclose(
        gibbs._lower_solve(chol, b, True), solve_triangular(chol.T, b, lower=False), atol=1e-12
    )


def test_cholesky_fallback_matches_lapack_on_good_blocks() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 4, 4))
    q = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(4)
    q[3] = -np.eye(4)
    chol, ok = gibbs._cholesky(q)
    np.testing.assert_array_equal(ok, [True, True, True, False, True, True])
    good = np.array([0, 1, 2, 4, 5])
    np.testing.assert_allclose(chol[good], np.linalg.cholesky(q[good]), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------ data checks


def test_data_preparation_aggregates_rows_and_rejects_bad_input() -> None:
    screen = random_screen(0)
    d = problem_for(screen, "colour").data
    rows = Rows(screen)
    np.testing.assert_allclose(d.y, rows.y, rtol=0, atol=1e-14)
    assert d.n_obs == rows.n == 54 and d.n_entries < rows.n  # duplicates share an entry
    for e in range(d.n_entries):
        members = np.flatnonzero(d.row_entry == e)
        assert d.entry_count[e] == members.size
        assert d.entry_mean[e] == pytest.approx(rows.y[members].mean(), rel=1e-14)
        assert len({rows.c[n] for n in members}) == 1
        assert len({tuple(sorted(rows.t[n])) for n in members}) == 1
    assert d.ss_within == pytest.approx(
        sum(((rows.y[d.row_entry == e] - d.entry_mean[e]) ** 2).sum() for e in range(d.n_entries)), abs=1e-12
    )
    np.testing.assert_array_equal(d.drug_count, [len(rows.holding(m)) for m in range(rows.M)])
    # y = logit(clip(float32(obs), 0.01, 0.99)) in f8
    clipped = [float(np.float32(v)) for v in (0.01, 0.5, 0.99, 0.3)]
    np.testing.assert_allclose(
        gibbs.logit_observations([0.0, 0.5, 1.0, 0.3]), [np.log(v / (1 - v)) for v in clipped], rtol=1e-14
    )
    names = [["d0", "d1"], ["d1", "d1"]]
    doses = [[1.0, 1.0], [1.0, 1.0]]
    same = Screen(names, doses, ["s", "s"], ["p", "p"], [0.5, 0.5])
    with pytest.raises(InputError, match="treatment_ids"):
        gibbs.prepare_data(same)
    negative = Screen([["d0", "d1"]], [[1.0, 1.0]], ["s"], ["p"], [-0.1])
    with pytest.raises(InputError, match="observations"):
        gibbs.prepare_data(negative)
    three = Screen([["d0", "d1", "d2"]], [[1.0, 1.0, 1.0]], ["s"], ["p"], [0.1])
    with pytest.raises(InputError, match="arity"):
        gibbs.prepare_data(three)
    # unobserved rows may hold anything (here the same treatment twice): only observed rows count
    partly = Screen(names, doses, ["s", "s"], ["p", "q"], [0.5, 0.0], [True, False])
    assert gibbs.prepare_data(partly).n_obs == 1


# ------------------------------------------------------------------------------ params and chains


def test_params_from_mapping_cast_and_reject() -> None:
    p = SparseDrugComboParams.from_mapping(
        {"n_embedding_dimensions": "4", "a0": "2.5", "local_shrinkage": "no"}
    )
    assert (p.n_embedding_dimensions, p.a0, p.b0, p.local_shrinkage, p.fake_intercept) == (
        4,
        2.5,
        1.1,
        False,
        True,
    )
    defaults = SparseDrugComboParams(n_embedding_dimensions=2)
    assert (
        defaults.min_Mu,
        defaults.max_Mu,
        defaults.interaction_log_transform,
        defaults.predict_interactions,
    ) == (
        -10.0,
        10.0,
        True,
        False,
    )
    with pytest.raises(InputError, match=r"cfg\.yaml: bogus: expected one of n_embedding_dimensions, a0"):
        SparseDrugComboParams.from_mapping({"n_embedding_dimensions": 2, "bogus": 1}, "cfg.yaml")
    with pytest.raises(InputError, match="n_embedding_dimensions"):
        SparseDrugComboParams.from_mapping({"a0": 1.0}, "cfg.yaml")
    with pytest.raises(InputError, match="a0: expected a float"):
        SparseDrugComboParams.from_mapping({"n_embedding_dimensions": 2, "a0": "x"})
    with pytest.raises(InputError, match="n_embedding_dimensions: expected an int >= 1"):
        SparseDrugComboParams.from_mapping({"n_embedding_dimensions": 0})
    m = McmcParams.from_mapping({"n_burnin": "5", "thin": 2, "blocking": "joint", "joint_max_dim": "10"})
    assert (m.n_burnin, m.n_samples, m.thin, m.blocking, m.joint_max_dim, m.backend, m.predict_block_mb) == (
        5,
        100,
        2,
        "joint",
        10,
        "numpy",
        256,
    )
    with pytest.raises(InputError, match="blocking: expected one of colour, joint, sequential"):
        McmcParams.from_mapping({"blocking": "random"}, "c.yaml")
    with pytest.raises(InputError, match="backend: expected one of numpy"):
        McmcParams.from_mapping({"backend": "jax"})
    with pytest.raises(InputError, match="thin: expected an int >= 1"):
        McmcParams.from_mapping({"thin": 0})
    with pytest.raises(InputError, match="n_samples"):
        McmcParams.from_mapping({"n_samples": "1.5"})


def _chain(screen, seed, blocking="colour", **mcmc):
    settings = {"n_burnin": 3, "n_samples": 4, "thin": 2, "blocking": blocking, **mcmc}
    return gibbs.sample_chain(
        screen,
        SparseDrugComboParams(n_embedding_dimensions=2),
        McmcParams(**settings),
        np.random.default_rng(seed),
    )


def test_chain_shapes_and_thinning() -> None:
    screen = random_screen(1)
    out = _chain(screen, 0)
    c, m = screen.experiment_space.n_samples, screen.experiment_space.n_treatments
    shapes = {k: v.shape for k, v in out.items()}
    assert shapes == {
        "W": (4, c, 2),
        "W0": (4, c),
        "V2": (4, m, 2),
        "V1": (4, m, 2),
        "V0": (4, m),
        "alpha": (4,),
        "precision": (4,),
    }
    assert all(v.dtype == np.float64 for v in out.values())
    # the kept states are sweeps 5, 7, 9, 11 of one run
    problem = gibbs.make_problem(
        screen, SparseDrugComboParams(n_embedding_dimensions=2), McmcParams(n_burnin=3, n_samples=4, thin=2)
    )
    state = gibbs.init_state(problem.data, 2)
    draws = gibbs.Draws(np.random.default_rng(0))
    kept = []
    for i in range(11):
        gibbs.sweep(state, problem, draws)
        if i + 1 in (5, 7, 9, 11):
            kept.append(state.V1[:-1].copy())
    np.testing.assert_array_equal(out["V1"], np.array(kept))


@pytest.mark.parametrize("blocking", ["colour", "joint", "sequential"])
def test_same_seed_identical_other_seed_different(blocking: str) -> None:
    screen = random_screen(2)
    first, again, other = (
        _chain(screen, 5, blocking),
        _chain(screen, 5, blocking),
        _chain(screen, 6, blocking),
    )
    for key in gibbs.SAMPLE_KEYS:
        np.testing.assert_array_equal(first[key], again[key])
        if key != "alpha":  # α = mean(y) with fake_intercept
            assert not np.array_equal(first[key], other[key]), key


def _holdout_fit(seed_split: int = 0):
    screen, truth = make_synthetic(**small_preset(), seed=3)
    rng = np.random.default_rng(seed_split)
    test_rows = np.sort(rng.choice(screen.size, size=screen.size // 10, replace=False))
    train = np.setdiff1d(np.arange(screen.size), test_rows)
    train_screen = screen.subset(train)
    params = SparseDrugComboParams(n_embedding_dimensions=5)
    mcmc = McmcParams(n_burnin=300, n_samples=100, thin=2)
    chains = [gibbs.sample_chain(train_screen, params, mcmc, np.random.default_rng(s)) for s in (101, 202)]
    samples = {k: np.concatenate([ch[k] for ch in chains]) for k in gibbs.SAMPLE_KEYS}
    ids = screen.treatment_ids[test_rows]
    cells = screen.sample_ids[test_rows]
    mus = np.array(
        [
            gibbs.mean_logit(
                samples["W"][i],
                samples["W0"][i],
                samples["V0"][i],
                samples["V1"][i],
                samples["V2"][i],
                samples["alpha"][i],
                cells,
                ids,
            )
            for i in range(samples["alpha"].size)
        ]
    )
    return screen, truth, test_rows, train, samples, mus


@pytest.mark.slow
def test_recovers_planted_synthetic_model() -> None:
    screen, truth, test_rows, train, samples, mus = _holdout_fit()
    obs = screen.observations
    viability = np.clip(1 / (1 + np.exp(-mus)), 0.01, 0.99).mean(axis=0)
    mse_model = np.mean((viability - obs[test_rows]) ** 2)
    mse_mean = np.mean((obs[train].mean() - obs[test_rows]) ** 2)
    assert mse_model <= 0.5 * mse_mean
    corr = np.corrcoef(mus.mean(axis=0), truth["mu"][test_rows])[0, 1]
    assert corr >= 0.9
    noise_sd = np.mean(1 / np.sqrt(samples["precision"]))
    assert 0.5 * 0.2 <= noise_sd <= 2 * 0.2


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.levelno, record.getMessage()))


def test_non_pd_count_is_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = random_screen(2)
    handler = _Records()
    log = logging.getLogger(gibbs.__name__)
    log.addHandler(handler)
    old_level = log.level
    log.setLevel(logging.DEBUG)
    try:
        _chain(screen, 0)
        assert (
            logging.INFO,
            "gibbs: 11 sweeps, no non-positive-definite precision block",
        ) in handler.messages
        real_init = gibbs.init_state

        def broken_init(data, dims):
            state = real_init(data, dims)
            state.tau[0] = -1.0  # the first W step fails for every sample, then step 13 resets τ
            return state

        monkeypatch.setattr(gibbs, "init_state", broken_init)
        _chain(screen, 0)
        c = screen.experiment_space.n_samples
        assert (
            logging.WARNING,
            f"gibbs: {c} precision blocks were not positive definite and kept their old value",
        ) in handler.messages
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
