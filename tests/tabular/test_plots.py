"""The tabular report's figures (spec §8 Plots)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from snakelab.tabular import plots


def png_shape(path: Path) -> tuple[int, int]:
    from matplotlib.image import imread

    image = imread(path)
    assert image.std() > 0.01, f"{path.name} is blank"
    return image.shape[1], image.shape[0]


def no_temporaries(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.startswith(".")]


def runs_frame() -> pd.DataFrame:
    rows = []
    for combo in range(3):
        for fold in range(5):
            rows.append(
                {"combo_idx": combo, "loss": 0.1 * combo + 0.01 * fold, "accuracy": 0.9 - 0.05 * combo}
            )
    rows.append({"combo_idx": 0, "loss": np.nan, "accuracy": 0.5})
    return pd.DataFrame(rows)


def test_performance_data_filters_and_summarises() -> None:
    data, summary = plots.performance_data(runs_frame(), "accuracy")
    assert len(data) == 15
    assert summary.loc[1, ("loss", "mean")] == pytest.approx(0.12)
    assert summary.loc[1, ("loss", "std")] == pytest.approx(np.std([0.1, 0.11, 0.12, 0.13, 0.14], ddof=1))
    kept, _ = plots.performance_data(runs_frame(), "accuracy", max_loss=0.13, min_score=0.85)
    assert sorted(set(kept["combo_idx"])) == [0, 1] and len(kept) == 5 + 4


def test_performance_png_and_pdf(tmp_path: Path) -> None:
    written = plots.plot_performance(
        runs_frame(), "accuracy", tmp_path / "performance.png", formats=["png", "pdf"]
    )
    assert written == [tmp_path / "performance.png", tmp_path / "performance.pdf"]
    assert png_shape(written[0]) == (900, 675)
    assert written[1].read_bytes().startswith(b"%PDF")
    again = plots.plot_performance(runs_frame(), "accuracy", tmp_path / "again.png", formats=["pdf"])
    assert again[1].read_bytes() == written[1].read_bytes()
    assert no_temporaries(tmp_path)
    with pytest.raises(ValueError, match="svg"):
        plots.plot_performance(runs_frame(), "accuracy", tmp_path / "x.png", formats=["svg"])


def test_learning_curves(tmp_path: Path) -> None:
    histories = {
        f"fold {f}": {
            "loss": list(np.linspace(1, 0.1, 20) + f / 10),
            "val_loss": list(np.linspace(1.1, 0.2, 20)),
            "accuracy": list(np.linspace(0.3, 0.95, 20)),
            "val_accuracy": list(np.linspace(0.3, 0.9, 20)),
        }
        for f in range(3)
    }
    (path,) = plots.plot_learning_curves(histories, tmp_path / "learning_curves.png", skip_head=0.25)
    assert png_shape(path) == (1800, 675)  # one panel per metric pair (loss, accuracy)
    with pytest.raises(ValueError, match="skip_head"):
        plots.plot_learning_curves(histories, tmp_path / "bad.png", skip_head=1.0)


def test_roc_and_pr_curves(tmp_path: Path) -> None:
    diagonal = (np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    perfect = (np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0]))
    assert plots._curve_area(*diagonal) == pytest.approx(0.5)
    assert plots._curve_area(*perfect) == pytest.approx(1.0)
    curves = {"evaluation": {"fold 0": diagonal, "fold 1": perfect}, "test": {"fold 0": perfect}}
    (roc,) = plots.plot_curves("roc", curves, tmp_path / "roc.png")
    (pr,) = plots.plot_curves("pr", curves, tmp_path / "pr.png")
    assert png_shape(roc) == png_shape(pr) == (1500, 675)
    with pytest.raises(ValueError, match="kind"):
        plots.plot_curves("det", curves, tmp_path / "det.png")


def test_confusion_importance_and_regression(tmp_path: Path) -> None:
    (confusion,) = plots.plot_confusion(
        np.array([[10, 0, 0], [0, 8, 2], [0, 0, 0]]), ["a", "b", "c"], tmp_path / "confusion_test.png", "test"
    )
    assert png_shape(confusion) == (1500, 630)
    importance = pd.DataFrame(
        {
            "column": [f"c{i}" for i in range(12)],
            "median": np.linspace(0.5, 0.0, 12),
            "loss_impacts": [[v, v + 0.1, v - 0.1] for v in np.linspace(0.5, 0.0, 12)],
        }
    )
    (imp,) = plots.plot_importance(importance, tmp_path / "importance.png", top_n=10)
    assert png_shape(imp) == (900, round((0.4 * 10 + 1.0) * 150))
    rng = np.random.default_rng(0)
    truth = rng.normal(size=50)
    (scatter,) = plots.plot_regression_scatter(
        truth, truth + rng.normal(0, 0.1, 50), tmp_path / "scatter.png"
    )
    assert png_shape(scatter) == (1500, 675)
    assert no_temporaries(tmp_path)
