"""TensorFlow set-up of a job: seeds, op determinism, threads and device (spec §4 "Determinism")."""

from __future__ import annotations

import logging

from snakelab.core.errors import InputError

log = logging.getLogger("snakelab.scmedal.runtime")


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ start-up messages in job logs (call before importing TensorFlow)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def setup_tensorflow(seed: int, threads: int, device: str) -> str:
    """Seed Keras/NumPy/Python, enable op determinism, limit threads, pick the device; return its name."""
    import keras
    import tensorflow as tf

    if device == "cpu":
        tf.config.set_visible_devices([], "GPU")
    gpus = tf.config.list_physical_devices("GPU")
    if device == "gpu" and not gpus:
        raise InputError(None, "training.device", "expected a visible GPU (device: gpu), found none")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        log.debug("TensorFlow threads already fixed in this process")
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return "gpu" if gpus and device != "cpu" else "cpu"
