"""``snakelab imnn fit``: fit the summary network and write ``fit/`` (spec §4, §6, §12).

Outputs (atomic): ``weights.npz`` (the returned weights: best or final), ``statistics.npz`` (μ, C, C⁻¹,
dμ/dθ, F, F⁻¹, θ_fid at those weights, on the validation set if present, else on ``final_n_s`` fresh
simulations from stream ``final`` in simulator mode, else on the training set), ``history.npz`` and
``history.csv``, ``metrics.json``. Checkpoints ``checkpoint_{i:06d}.npz`` are side files; ``--resume``
continues from the newest.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core import atomic
from snakelab.core.errors import InputError
from snakelab.imnn import config, npz

log = logging.getLogger("snakelab.imnn.fit")


def _load_chunks(sims_dir: Path, set_name: str, section: dict[str, Any]) -> np.ndarray:
    parts = []
    for c in range(section["n_chunks"]):
        path = sims_dir / set_name / f"chunk_{c:03d}.npz"
        with np.load(path) as z:
            expected = config.chunk_indices(config.set_size(section, set_name), section["n_chunks"], c)
            if not np.array_equal(z["index"], expected):
                raise InputError(
                    path, "index", f"expected simulations {expected[0]}..{expected[-1]} of {set_name}"
                )
            parts.append(z["data"])
    return np.concatenate(parts)


def expected_shapes(section: dict[str, Any], shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Per-simulation shape of the fiducial and derivative arrays of the configured mode."""
    n_params = len(section["theta_fid"])
    deriv = (2, n_params, *shape) if section["mode"] == "numerical" else (*shape, n_params)
    return {"fiducial": shape, "derivative": deriv}


def load_set(
    section: dict[str, Any],
    prefix: str,
    shape: tuple[int, ...],
    sims_dir: Path | None,
    kinds: tuple[str, ...] = ("fiducial", "derivative"),
) -> dict[str, np.ndarray]:
    """``{"fiducial", "derivative"}`` of the training (prefix "") or validation ("validation_") set, from
    the simulated chunks or the external ``data:`` arrays; shapes and finiteness checked."""
    from snakelab.imnn.simulators import check_simulations

    shapes = expected_shapes(section, shape)
    sizes = {"fiducial": section["n_s"], "derivative": section["n_d"]}
    out = {}
    for kind in kinds:
        name = prefix + kind
        if section.get("data") is not None:
            path = section["data"].get(name)
            if path is None:
                raise InputError(None, f"imnn.data.{name}", "expected a .npy path (validation is on)")
            array, where = np.load(path), path
        else:
            assert sims_dir is not None
            array, where = _load_chunks(sims_dir, name, section), str(sims_dir / name)
        out[kind] = check_simulations(array, shapes[kind], where, name, n=sizes[kind])
    return out


def _divisor(n: int, limit: int) -> int:
    return max(d for d in range(1, min(n, limit) + 1) if n % d == 0)


def run_fit(
    section: dict[str, Any], sims_dir: Path | None, out_dir: Path, tfrecords_dir: Path | None, resume: bool
):
    """Fit, compute the final statistics and write every output of ``fit/``; return the metrics."""
    import jax
    import jax.numpy as jnp

    from snakelab.imnn import aggregated, derivatives, fisher, optimiser, problems, runtime
    from snakelab.imnn.fit import fit, latest_checkpoint

    dtype = runtime.set_precision(section)
    shape = runtime.input_shape(section)
    init, apply = runtime.network(section, dtype)
    w0 = runtime.initial_weights(section, init, shape)
    fit_cfg = section["fit"]
    coupling, a = fit_cfg["lambda"], fisher.alpha(fit_cfg["lambda"], fit_cfg["epsilon"])
    opt = optimiser.build(section["optimiser"], fit_cfg["max_iterations"])
    mode, storage = section["mode"], section["storage"]
    theta = jnp.asarray(section["theta_fid"], dtype)
    delta = jnp.asarray(section["delta_theta"], dtype) if mode == "numerical" else None
    simulate = runtime.simulator(section)
    fit_key = runtime.stream_key(section["seed"], "fit")
    n_s, n_d = section["n_s"], section["n_d"]
    training = validation = None
    if storage != "dataset":
        if mode != "simulator":
            training = load_set(section, "", shape, sims_dir)
        if section["validate"]:
            validation = load_set(section, "validation_", shape, sims_dir)
    f_d, f_f = aggregated.batch_functions(apply, mode, simulate=simulate, theta_fid=theta, delta_theta=delta)
    devices = jax.devices()
    if section.get("devices"):
        devices = [devices[i] for i in section["devices"]]
    agg = aggregated.Aggregator(f_d, f_f, coupling, a, devices)
    if storage == "memory":
        train = problems.memory_train(
            apply,
            mode,
            coupling,
            a,
            simulate=simulate,
            fit_key=fit_key,
            theta_fid=theta,
            n_s=n_s,
            n_d=n_d,
            delta_theta=delta,
        )
        validate = problems.memory_validate(apply, mode, coupling, a, delta) if section["validate"] else None
        data = None if training is None else jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), training)
        val_data = (
            None
            if validation is None
            else jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), validation)
        )
        jit = True
        val_source = None
    else:
        batch = len(devices) * section["n_per_device"]
        try:
            aggregated.check_divisible(n_s, n_d, len(devices), section["n_per_device"])
        except ValueError as exc:
            raise InputError(None, "imnn.n_per_device", str(exc)) from None
        if storage == "dataset":
            from snakelab.imnn import dataset

            assert tfrecords_dir is not None
            sets = dataset.open_sets(section, tfrecords_dir, shape, batch, dtype)
            source, val_source = sets.get("train"), sets.get("validation")
        else:
            source = (
                None
                if training is None
                else aggregated.array_source(
                    training["fiducial"].astype(dtype), training["derivative"].astype(dtype), batch
                )
            )
            val_source = (
                None
                if validation is None
                else aggregated.array_source(
                    validation["fiducial"].astype(dtype), validation["derivative"].astype(dtype), batch
                )
            )
        if mode == "simulator":
            source = aggregated.key_source(lambda i: jax.random.fold_in(fit_key, i), n_s, n_d, batch)
        train = problems.aggregated_train(agg, source)
        validate = problems.aggregated_validate(agg, val_source) if val_source is not None else None
        data = val_data = None
        jit = False
    # On resume the checkpoint's weights replace w0: standardising them first would be wasted work.
    resuming = resume and latest_checkpoint(out_dir) is not None
    if fit_cfg["standardise"] and not resuming:
        if storage != "memory":
            first = lambda w: agg.forward(w, source, 0)[0]  # noqa: E731
        elif mode == "simulator":
            keys = problems.iteration_keys(fit_key, jnp.asarray(0), n_s)
            first = lambda w: derivatives.summaries(apply, w, jax.vmap(lambda k: simulate(k, theta))(keys))  # noqa: E731
        else:
            first = lambda w: problems.fixed_summaries(apply, mode, delta)(w, data)[0]  # noqa: E731
        w0 = _standardised(section, w0, jax.jit(first))
    result = fit(
        w0,
        opt,
        train,
        data,
        validate=validate,
        val_data=val_data,
        patience=fit_cfg["patience"],
        min_iterations=fit_cfg["min_iterations"],
        max_iterations=fit_cfg["max_iterations"],
        best=fit_cfg["best"],
        chunk=fit_cfg["chunk"],
        jit=jit,
        loop=_loop(section),
        checkpoint_dir=out_dir,
        checkpoint_every=fit_cfg["checkpoint_every"],
        resume=resume,
    )
    _check_result(result)
    w = result.w
    if validation is not None and storage == "memory":
        x, dx = jax.jit(
            problems.fixed_summaries(apply, "numerical" if mode == "numerical" else "gradient", delta)
        )(w, val_data)
        stats = fisher.fisher_statistics(x, dx)
    elif val_source is not None:
        stats = agg.statistics(w, val_source)
    elif mode == "simulator":
        final_key = runtime.stream_key(section["seed"], "final")
        n_final = section["final_n_s"]
        final = aggregated.key_source(lambda _: final_key, n_final, n_final, _divisor(n_final, 1000))
        stats = agg.statistics(w, final)
    elif storage == "memory":
        stats = fisher.fisher_statistics(*jax.jit(problems.fixed_summaries(apply, mode, delta))(w, data))
    else:
        stats = agg.statistics(w, source)
    return _write_outputs(section, out_dir, result, stats, w, a)


def _loop(section: dict[str, Any]) -> str:
    """``fit.loop`` with ``auto`` resolved: ``host`` for a ``cnn`` (see :func:`snakelab.imnn.fit.fit`)."""
    loop = section["fit"]["loop"]
    if loop == "auto":
        return "host" if section["network"].get("kind") == "cnn" else "device"
    return loop


def _standardised(section: dict[str, Any], w0: Any, first: Any) -> Any:
    """``w0`` with the mean and covariance of ``first(w0)``, its summaries (n_s, n_summaries) of the
    iteration-0 training inputs, folded into the last layer (``fit.standardise``; built-in networks only,
    see :func:`snakelab.imnn.networks.standardise_output`)."""
    from snakelab.imnn import networks

    if section["network"].get("kind", "mlp") not in ("mlp", "cnn"):
        log.info("fit.standardise: skipped for the user network %s", section["network"]["kind"])
        return w0
    try:
        return networks.standardise_output(w0, first(w0))
    except ValueError:
        raise InputError(
            None, "fit", "the covariance of the initial summaries is singular (set fit.standardise: false)"
        ) from None


def _check_result(result: Any) -> None:
    if result.max_detF > 0:
        return
    h = result.history
    detC = float(h["detC"][0]) if len(h["detC"]) else float("nan")
    if not math.isfinite(detC) or detC <= 0 or not math.isfinite(float(h["detinvC"][0])):
        raise InputError(
            None, "fit", f"the covariance of the summaries is singular at the start (|C| = {detC:.3g})"
        )
    raise InputError(None, "fit", f"no iteration produced a finite |F| > 0 (stop: {result.stop_reason})")


def _write_outputs(section: dict[str, Any], out_dir: Path, result: Any, stats: Any, w: Any, a: float) -> dict:
    from snakelab.imnn import runtime
    from snakelab.imnn.fit import history_arrays

    F = np.asarray(stats.F, dtype=np.float64)
    detF = float(np.linalg.det(F))
    if not np.all(np.isfinite(F)) or detF <= 0 or np.linalg.cond(F) > 1e12:
        raise InputError(
            None, "fit", f"the final Fisher matrix is singular (|F| = {detF:.3g}); no statistics written"
        )
    statistics = {
        "mu": np.asarray(stats.mu),
        "C": np.asarray(stats.C),
        "invC": np.asarray(stats.invC),
        "dmu_dtheta": np.asarray(stats.J),
        "F": np.asarray(stats.F),
        "invF": np.linalg.inv(F).astype(np.asarray(stats.F).dtype),
        "theta_fid": np.asarray(section["theta_fid"], dtype=np.asarray(stats.F).dtype),
    }
    entry = config.simulator_entry(section)
    analytic = (
        None
        if entry is None
        else entry.analytic_fisher(section["theta_fid"], section["simulator"].get("args"))
    )
    detF_analytic = None if analytic is None else float(np.linalg.det(analytic))
    metrics = {
        "detF_final": detF,
        "F": F.tolist(),
        "detF_analytic": detF_analytic,
        "ratio": None if detF_analytic is None else detF / detF_analytic,
        "iterations": result.iterations,
        "best_iteration": result.best_iteration,
        "max_detF": result.max_detF,
        "stop_reason": result.stop_reason,
        "alpha": a,
        "wall_s": result.wall_s,
        "ms_per_iteration": 1000.0 * (result.wall_s - result.compile_s) / max(result.iterations, 1),
        "compile_s": result.compile_s,
    }
    history = history_arrays(result, a)
    out_dir.mkdir(parents=True, exist_ok=True)
    runtime.save_weights(out_dir / "weights.npz", w)
    _savez(out_dir / "statistics.npz", statistics)
    _savez(out_dir / "history.npz", history)
    atomic.write_text(out_dir / "history.csv", history_csv(result.history))
    atomic.write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    npz.save(path, arrays)


def history_csv(history: dict[str, np.ndarray]) -> str:
    """``iteration,detF,detC,detinvC,Lambda2,r[,val_…]``, one row per iteration."""
    names = list(history)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["iteration", *names])
    for i in range(len(history[names[0]]) if names else 0):
        writer.writerow([i, *(repr(float(history[n][i])) for n in names)])
    return buf.getvalue()


def main(args: argparse.Namespace) -> None:
    from snakelab.imnn import lineage

    section = config.load(args.config)
    out_dir = Path(args.output_dir)
    with lineage.fit_run(args.store, section, args.config, out_dir) as run:
        metrics = run_fit(
            section,
            Path(args.sims_dir) if args.sims_dir else None,
            out_dir,
            Path(args.tfrecords_dir) if args.tfrecords_dir else None,
            args.resume,
        )
        if run is not None:
            lineage.record_outputs(run, out_dir, metrics)
    log.info(
        "fit: |F| = %.4g (%s), %d iterations (%s), %.1f s",
        metrics["detF_final"],
        f"analytic {metrics['detF_analytic']:.4g}" if metrics["detF_analytic"] else "no analytic value",
        metrics["iterations"],
        metrics["stop_reason"],
        metrics["wall_s"],
    )
