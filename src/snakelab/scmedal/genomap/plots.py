"""Genomap figures (spec §10): the first rows of a map, and per plotted cell its panels and top-10 SD genes.

Images are [R, C] float arrays; pixels without a gene are masked (drawn white). Matplotlib runs on Agg.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from snakelab.core.atomic import atomic_path

TOP_COLUMNS = ("gene", "row", "col", "sd", "rank")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png")


def _panels(
    images: Sequence[np.ndarray],
    titles: Sequence[str],
    red: Sequence[bool],
    mask: np.ndarray,
    path: Path,
    suptitle: str = "",
    marks: pd.DataFrame | None = None,
    labels: bool = False,
) -> None:
    plt = _pyplot()
    n = len(images)
    ncols = min(n, 6)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.4 * ncols, 2.5 * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, img, title, is_red in zip(axes.flat, images, titles, red, strict=False):
        ax.imshow(np.ma.masked_array(img, mask), cmap="jet", interpolation="nearest")
        ax.set_title(title, fontsize=8, color="red" if is_red else "black")
        ax.set_xticks([])
        ax.set_yticks([])
        if marks is not None:
            ax.scatter(
                marks["col"], marks["row"], s=14, facecolors="none", edgecolors="white", linewidths=0.8
            )
            if labels:
                for _, m in marks.iterrows():
                    ax.annotate(str(m["gene"]), (m["col"], m["row"]), fontsize=5, color="white")
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    _save(fig, path)
    plt.close(fig)


def plot_first_rows(
    genomaps: np.ndarray, mask: np.ndarray, meta: pd.DataFrame, path: Path, n: int = 50
) -> None:
    """``<gname>.png``: the genomaps of the first ``n`` rows [rows, R, C, 1], titled by block and batch."""
    rows = min(n, genomaps.shape[0])
    titles = [
        f"{meta.block[i]} {meta.cf_batch[i] or meta.batch[i]}"[:28] for i in range(rows)
    ]  # block and (target) batch
    _panels([genomaps[i, :, :, 0] for i in range(rows)], titles, [False] * rows, mask, path)


def top_variable_genes(sd: np.ndarray, pixel_genes: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The ``k`` genes of largest pixelwise SD [R, C]: columns gene, row, col, sd, rank (1 = largest)."""
    values = sd[pixel_genes["row"].to_numpy(), pixel_genes["col"].to_numpy()]
    order = np.lexsort((np.arange(values.size), -values))[:k]
    top = pixel_genes.iloc[order][["gene", "row", "col"]].reset_index(drop=True)
    top["sd"] = values[order]
    top["rank"] = np.arange(1, len(top) + 1)
    return top[list(TOP_COLUMNS)]


def cell_figures(
    genomaps: np.ndarray,
    meta: pd.DataFrame,
    coords: pd.DataFrame,
    mask: np.ndarray,
    obs_name: str,
    few_batches: Sequence[str],
    celltypes_label: str,
    out_dir: str | os.PathLike[str],
) -> dict[str, Path]:
    """Per plotted cell: the top-10 SD csv and three pngs (spec §10 names; ``obs_name`` made file-safe).

    ``genomaps`` [rows, R, C, 1] and ``meta`` of the multibatch matrix; ``coords`` the gene coordinates
    (gene, row, col); ``few_batches`` the forced batches shown in the ``few_batches`` figures.
    """
    import re

    out = Path(out_dir)
    rows = meta.index[meta.obs_name == obs_name]
    first = {b: rows[meta.block[rows] == b] for b in ("input", "fe_recon")}
    cf_rows = rows[meta.block[rows] == "cf"]
    own = meta.batch[rows[0]]
    cf_images = genomaps[cf_rows, :, :, 0]
    sd = cf_images.std(axis=0, ddof=1) if len(cf_rows) > 1 else np.zeros(cf_images.shape[1:])
    top = top_variable_genes(sd, coords)
    safe = re.sub(r"[^A-Za-z0-9._+-]", "-", str(obs_name))
    prefix = f"genomap_10topvariablegenesacrossbatches_{safe}"
    paths = {"top_csv": out / f"{prefix}_std.csv"}
    with atomic_path(paths["top_csv"]) as tmp:
        top.to_csv(tmp, index=False)

    def images_for(batches: Sequence[str] | None):
        keep = [i for i in cf_rows if batches is None or meta.cf_batch[i] in set(batches)]
        imgs = [genomaps[first["input"][0], :, :, 0], genomaps[first["fe_recon"][0], :, :, 0]]
        imgs += [genomaps[i, :, :, 0] for i in keep] + [sd]
        titles = ["input", "FE recon"] + [f"cf {meta.cf_batch[i]}" for i in keep] + ["SD across batches"]
        red = [False, False] + [meta.cf_batch[i] == own for i in keep] + [False]
        return imgs, titles, red

    title = f"{obs_name} (batch {own})"
    paths["std_png"] = out / f"{prefix}_std_{celltypes_label}.png"
    _panels(*images_for(None), mask, paths["std_png"], title, top)
    paths["few_png"] = out / f"{prefix}_few_batches_std_{celltypes_label}.png"
    _panels(*images_for(few_batches), mask, paths["few_png"], title, top)
    paths["few_labels_png"] = out / f"{prefix}_few_batches_std_{celltypes_label}_labels.png"
    _panels(*images_for(few_batches), mask, paths["few_labels_png"], title, top, labels=True)
    return paths
