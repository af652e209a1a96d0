"""The shipped simulators (spec §8, §14.2, §14.8): analytic Fisher values, empirical Fisher of the
sufficient statistics, autodiff derivatives against finite differences, the field's power spectrum."""

from __future__ import annotations

import itertools
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from snakelab.core.errors import InputError
from snakelab.imnn import simulators
from snakelab.imnn.simulators import field2d

# |F| at θ_fid = (1, 0.5) exactly as printed in spec §8; reproduced to the printed precision.
FIELD_DETF = {
    ("full", 128): "17449217.9",
    ("full", 64): "1077606.9",
    ("full", 32): "65126.95",
    ("quadrant", 128): "967560.53",
    ("quadrant", 32): "2620.53",
}


def _decimals(printed: str) -> int:
    return len(printed.partition(".")[2])


@pytest.mark.parametrize(("modes", "n_pixels"), sorted(FIELD_DETF))
def test_field2d_analytic_fisher_determinants(modes: str, n_pixels: int) -> None:
    F = simulators.get("field2d").analytic_fisher(args={"N": n_pixels}, modes=modes)
    printed = FIELD_DETF[(modes, n_pixels)]
    assert round(float(np.linalg.det(F)), _decimals(printed)) == float(printed)


def test_field2d_analytic_fisher_entries_at_128() -> None:
    entry = simulators.get("field2d")
    full = entry.analytic_fisher((1.0, 0.5), {"N": 128}, modes="full")
    quadrant = entry.analytic_fisher((1.0, 0.5), {"N": 128}, modes="quadrant")
    np.testing.assert_array_equal(np.round(full, 3), [[8191.5, -6365.164], [-6365.164, 7076.180]])
    np.testing.assert_array_equal(np.round(quadrant, 4), [[1984.5, -1545.0638], [-1545.0638, 1690.4926]])
    # the quadrant counts 3,969 of the 16,383 informative modes: F_AA = modes / (2 A²)
    assert full[0, 0] * 2 == 128**2 - 1
    assert quadrant[0, 0] * 2 == 63**2
    # F_AA scales as 1/A², F_BB does not depend on A
    at_a2 = entry.analytic_fisher((2.0, 0.5), {"N": 128})
    assert at_a2[0, 0] == pytest.approx(full[0, 0] / 4)
    assert at_a2[1, 1] == pytest.approx(full[1, 1])


def test_gaussian_analytic_fisher() -> None:
    entry = simulators.get("gaussian")
    F = entry.analytic_fisher()
    np.testing.assert_array_equal(F, np.diag([10.0, 5.0]))
    assert np.linalg.det(F) == pytest.approx(50.0)
    np.testing.assert_allclose(entry.analytic_fisher((0.3, 2.0), {"n_data": 20}), np.diag([10.0, 2.5]))


def test_registry_metadata() -> None:
    gaussian = simulators.get("gaussian")
    assert gaussian.theta_fid == (0.0, 1.0)
    assert gaussian.input_shape() == (10,)
    assert gaussian.input_shape({"n_data": 7}) == (7,)
    assert (gaussian.prior_low, gaussian.prior_high) == ((-2.0, 0.2), (2.0, 4.0))
    field = simulators.get("field2d")
    assert field.theta_fid == (1.0, 0.5)
    assert field.input_shape({"N": 16}) == (16, 16)
    assert all(
        lo < t < hi for lo, t, hi in zip(field.prior_low, field.theta_fid, field.prior_high, strict=True)
    )
    assert simulators.names() == ["field2d", "gaussian"]


def test_metadata_does_not_import_jax() -> None:
    code = (
        "import sys; from snakelab.imnn import simulators as s; "
        "e = s.get('field2d'); e.input_shape({'N': 8}); e.analytic_fisher(); "
        "print('jax' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_bad_names_and_args_are_input_errors() -> None:
    with pytest.raises(InputError, match=r"imnn\.simulator\.name: expected one of field2d, gaussian"):
        simulators.get("gausian", path="config.yaml")
    with pytest.raises(InputError, match="cannot import module"):
        simulators.get("no_such_module_xyz:sim")
    with pytest.raises(InputError, match=r"imnn\.simulator\.args\.n: expected one of n_data"):
        simulators.get("gaussian").input_shape({"n": 3})
    with pytest.raises(InputError, match="even integer"):
        simulators.get("field2d").resolve_args({"N": 33}, path="c.yaml")


def _sufficient(d: jax.Array) -> jax.Array:
    return jnp.stack([d.sum(), (d**2).sum()])


def _empirical_fisher(x: np.ndarray, dx: np.ndarray) -> np.ndarray:
    C = np.cov(x, rowvar=False)
    J = dx.mean(axis=0)
    return J.T @ np.linalg.solve(C, J)


def test_gaussian_empirical_fisher_of_sufficient_statistics() -> None:
    entry = simulators.get("gaussian")
    simulate = entry.bind({"n_data": 10})
    theta = jnp.asarray(entry.theta_fid, dtype=jnp.float32)
    keys = jax.random.split(jax.random.PRNGKey(11), 40_000)

    def summaries(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = _sufficient(simulate(key, theta))
        dx = jax.jacfwd(lambda t: _sufficient(simulate(key, t)))(theta)
        return x, dx

    x, dx = jax.jit(jax.vmap(summaries))(keys)
    F = _empirical_fisher(np.asarray(x, np.float64), np.asarray(dx, np.float64))
    np.testing.assert_allclose(np.diag(F), [10.0, 5.0], rtol=0.03)
    assert abs(F[0, 1]) < 0.3
    assert np.linalg.det(F) == pytest.approx(50.0, rel=0.04)
    # a linear compression x = d reaches F_mm = n but carries no variance information
    lin_x = jax.vmap(lambda k: simulate(k, theta))(keys[:20_000])
    lin_dx = jax.vmap(lambda k: jax.jacfwd(lambda t: simulate(k, t))(theta))(keys[:20_000])
    F_lin = _empirical_fisher(np.asarray(lin_x, np.float64), np.asarray(lin_dx, np.float64))
    assert F_lin[0, 0] == pytest.approx(10.0, rel=0.03)
    assert abs(F_lin[1, 1]) < 0.05


@pytest.mark.parametrize(
    ("name", "args", "theta"),
    [("gaussian", {"n_data": 10}, (0.3, 1.7)), ("field2d", {"N": 16}, (1.2, 0.7))],
)
def test_autodiff_matches_finite_differences(name: str, args: dict, theta: tuple[float, float]) -> None:
    entry = simulators.get(name)
    with jax.enable_x64(True):
        simulate = entry.bind(args)
        key = jax.random.PRNGKey(3)
        t = jnp.asarray(theta, dtype=jnp.float64)
        jac = np.asarray(jax.jacfwd(lambda u: simulate(key, u))(t))
        assert jac.shape == (*entry.input_shape(args), 2)
        assert jac.dtype == np.float64
        h = 1e-5
        for p in range(2):
            e = np.zeros(2)
            e[p] = h
            fd = (np.asarray(simulate(key, t + e)) - np.asarray(simulate(key, t - e))) / (2 * h)
            np.testing.assert_allclose(jac[..., p], fd, rtol=1e-6, atol=1e-8)
            assert np.abs(jac[..., p]).max() > 1e-3


def test_field2d_zero_mode_and_finite_gradients() -> None:
    simulate = simulators.get("field2d").bind({"N": 16})
    key = jax.random.PRNGKey(0)
    theta = jnp.asarray([1.0, 0.5])
    field = np.asarray(simulate(key, theta))
    assert field.shape == (16, 16)
    assert field.dtype == np.float32
    assert abs(field.mean()) < 1e-5  # P(0) = 0: no mean mode
    grad = jax.grad(lambda t: (simulate(key, t) ** 2).sum())(theta)
    assert np.isfinite(np.asarray(grad)).all()


def test_field2d_mean_periodogram_matches_power_spectrum() -> None:
    n_pixels, n_sims = 32, 2000
    A, B = 1.0, 0.5
    simulate = simulators.get("field2d").bind({"N": n_pixels})
    keys = jax.random.split(jax.random.PRNGKey(5), n_sims)
    fields = jax.jit(jax.vmap(lambda k: simulate(k, jnp.asarray([A, B]))))(keys)
    periodogram = np.mean(np.abs(np.fft.fft2(np.asarray(fields, np.float64))) ** 2, axis=0) / n_pixels**2
    k = field2d.wavenumbers(n_pixels)
    assert periodogram[0, 0] < 1e-8
    edges = np.linspace(k[k > 0].min(), k.max() + 1e-9, 11)
    ratios = []
    for lo, hi in itertools.pairwise(edges):
        sel = (k >= lo) & (k < hi) & (k > 0)
        ratios.append(periodogram[sel].mean() / (A * k[sel] ** -B).mean())
    np.testing.assert_allclose(ratios, 1.0, atol=0.05)


def test_user_function_hook(tmp_path, monkeypatch) -> None:
    (tmp_path / "my_user_sims.py").write_text(
        "import jax, jax.numpy as jnp\n"
        "def exponential(key, theta, args):\n"
        "    return -jnp.log(jax.random.uniform(key, (args.get('n', 20),))) / theta[0]\n"
        "NOT_CALLABLE = 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = simulators.get("my_user_sims:exponential", theta_fid=[2.0])
    assert entry.n_params == 1
    assert entry.input_shape({"n": 7}) == (7,)
    assert simulators.validate_simulator(entry, {"n": 7}, derivative=True) == (7,)
    data = np.asarray(entry.simulate(jax.random.PRNGKey(0), jnp.asarray([2.0]), {"n": 5000}))
    assert data.mean() == pytest.approx(0.5, rel=0.05)
    with pytest.raises(InputError, match=r"imnn\.theta_fid"):
        simulators.get("my_user_sims:exponential")
    with pytest.raises(InputError, match="found int"):
        simulators.get("my_user_sims:NOT_CALLABLE", theta_fid=[1.0])
    with pytest.raises(InputError, match="has no attribute"):
        simulators.get("my_user_sims:missing", theta_fid=[1.0])


def test_validation_of_shapes_and_nans() -> None:
    good = simulators.get("gaussian")
    assert simulators.validate_simulator(good, {"n_data": 10}, derivative=True) == (10,)
    # a variance below zero gives NaN: the check names the field
    with pytest.raises(
        InputError, match=r"c\.yaml: imnn\.simulator \(gaussian output\): expected finite values"
    ):
        simulators.validate_simulator(good, theta=(0.0, -1.0), path="c.yaml")
    wrong = simulators.from_function(lambda key, theta, args: jnp.zeros(3) + theta[0], (1.0,), name="wrong")
    wrong = simulators.Simulator(
        name="wrong",
        simulate=wrong.simulate,
        parameter_names=("a",),
        theta_fid=(1.0,),
        prior_low=None,
        prior_high=None,
        shape_fn=lambda args: (4,),
    )
    with pytest.raises(InputError, match=r"expected shape \(2, 4\), found \(2, 3\)"):
        simulators.validate_simulator(wrong)
    with pytest.raises(InputError, match=r"sims\.npy: data: expected shape \(n, 10\), found \(5, 9\)"):
        simulators.check_simulations(np.zeros((5, 9)), (10,), "sims.npy", "data")
    with pytest.raises(InputError, match="expected shape"):
        simulators.check_simulations(np.zeros((5, 10)), (10,), "sims.npy", "data", n=6)
    bad = np.zeros((4, 3))
    bad[2, 1] = np.inf
    with pytest.raises(InputError, match=r"1 NaN/inf \(first: simulation 2\)"):
        simulators.check_simulations(bad, (3,), "sims.npy", "data")


def test_batch_simulator_is_chunking_invariant() -> None:
    entry = simulators.get("gaussian")
    simulate = simulators.batch_simulator(entry, {"n_data": 10}, jax.random.PRNGKey(6))
    thetas = np.column_stack([np.linspace(-1, 1, 9), np.linspace(0.5, 2, 9)])
    whole = simulate(np.arange(9), thetas)
    parts = np.concatenate([simulate(np.arange(s, s + 3), thetas[s : s + 3]) for s in (0, 3, 6)])
    np.testing.assert_array_equal(whole, parts)
    assert whole.shape == (9, 10)
    expected = entry.simulate(
        jax.random.fold_in(jax.random.PRNGKey(6), 5), jnp.asarray(thetas[5], jnp.float32), {}
    )
    np.testing.assert_allclose(whole[5], np.asarray(expected), rtol=1e-6)


def test_batch_simulator_drives_abc_chunks() -> None:
    from snakelab.imnn.lfi import abc

    entry = simulators.get("gaussian")
    simulate = simulators.batch_simulator(entry, None, jax.random.PRNGKey(9))

    def compress(data: np.ndarray) -> np.ndarray:  # score compression at (0, 1), F = diag(10, 5)
        return np.column_stack([data.mean(axis=1), (data**2).mean(axis=1)])

    low, high = np.array(entry.prior_low), np.array(entry.prior_high)
    targets = np.array([[0.5, 1.5]])

    def run(chunk: int, n: int) -> abc.ABCChunk:
        return abc.abc_chunk(
            chunk, n, 0, low, high, targets, simulate, compress, np.diag([10.0, 5.0]), batch=500
        )

    one = run(0, 1000)
    two = abc.concatenate([run(0, 500), run(1, 500)])
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)
    # summaries are unbiased: mean d estimates m and mean d² estimates m² + v (4 standard errors)
    m, v = one.parameters[:, 0], one.parameters[:, 1]
    residual = one.summaries - np.column_stack([m, m**2 + v])
    assert (np.abs(residual.mean(0)) < 4 * residual.std(0) / np.sqrt(len(residual))).all()
