"""The one environment holds TensorFlow, PyTorch and JAX side by side, at the pinned versions."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from tests.harness import REPO, tool_env

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _pinned(name: str) -> str:
    extras = PYPROJECT["project"]["optional-dependencies"].values()
    for req in [*PYPROJECT["project"]["dependencies"], *(r for reqs in extras for r in reqs)]:
        if req.split("==")[0].split("[")[0].lower() == name:
            return req.split("==")[1]
    raise KeyError(name)


@pytest.mark.slow
def test_frameworks_import_together_at_pinned_versions() -> None:
    probe = (
        "import json, numpy, tensorflow as tf, torch, jax, jax.numpy as jnp\n"
        "x = numpy.arange(6.0).reshape(2, 3)\n"
        "print(json.dumps({'numpy': numpy.__version__, 'tf': tf.__version__, 'torch': torch.__version__,\n"
        "    'jax': jax.__version__, 'sums': [float(tf.reduce_sum(x)), float(torch.as_tensor(x).sum()),\n"
        "    float(jnp.sum(x))]}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], env=tool_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["numpy"] == _pinned("numpy")
    assert info["tf"] == _pinned("tensorflow-cpu")
    assert info["torch"].split("+")[0] == _pinned("torch")
    assert info["jax"] == _pinned("jax")
    assert info["sums"] == [15.0, 15.0, 15.0]


def test_pip_check_is_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "check"], env=tool_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
