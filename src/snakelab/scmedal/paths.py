"""The documented output tree (spec §7), derived from the config alone.

Used by the rules (at parse time) and by every CLI stage, so a stage run by hand with
``--config <yaml> --dataset <name>`` reads and writes exactly the files the rules name.
Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from snakelab.scmedal import config as C


@dataclass(frozen=True)
class Tree:
    """Paths of one dataset's outputs: ``{outdir}/{dataset}_outputs/...``."""

    cfg: Mapping[str, Any]
    dataset: str

    @property
    def root(self) -> str:
        return f"{self.cfg['outdir']}/{self.dataset}_outputs"

    @property
    def scenario(self) -> str:
        return C.scenario_id(self.cfg, self.dataset)

    # data/<scenario>/
    def data_dir(self) -> str:
        return f"{self.root}/data/{self.scenario}"

    def adata(self) -> str:
        return f"{self.data_dir()}/adata.h5ad"

    def splits(self) -> str:
        return f"{self.data_dir()}/splits.json"

    def preprocess_json(self) -> str:
        return f"{self.data_dir()}/preprocess.json"

    # latent_space/<scenario>/<model>/<run>/ (an external latent's scores live there too, under its name)
    def run_name(self, model: str) -> str:
        return C.run_name(self.cfg, self.dataset, model)

    def latent_run(self, model: str) -> str:
        return f"{self.root}/latent_space/{self.scenario}/{model}/{self.run_name(model)}"

    def latent_fold(self, model: str, fold: int | str) -> str:
        return f"{self.latent_run(model)}/splits_{fold}"

    def latent_name(self, model: str, split: str) -> str:
        """``dataset_type`` of a latent in the score tables: ``X_pca_<s>`` or ``<model>_latent_<s>``."""
        return f"X_pca_{split}" if model == "pca" else f"{model}_latent_{split}"

    def latent(self, model: str, fold: int | str, split: str) -> str:
        """The latent ``.npy`` of a model, ``pca`` or an external latent (its configured path pattern)."""
        external = self.cfg["compare"]["external_latents"]
        if model in external:
            return external[model].format(fold=fold, split=split)
        return f"{self.latent_fold(model, fold)}/{self.latent_name(model, split)}.npy"

    def recon(self, model: str, fold: int | str, split: str) -> str:
        return f"{self.latent_fold(model, fold)}/recon_{split}.npy"

    def history(self, model: str, fold: int | str) -> str:
        return f"{self.latent_fold(model, fold)}/history.csv"

    def scaler(self, model: str, fold: int | str) -> str:
        return f"{self.latent_fold(model, fold)}/scaler.json"

    def scores(self, model: str, fold: int | str, split: str) -> str:
        n = self.cfg["scores"]["sample_size"]
        return f"{self.latent_fold(model, fold)}/scores_{split}_samplesize-{n}.csv"

    def all_scores(self, model: str, split: str) -> str:
        return (
            f"{self.latent_run(model)}/all_scores_{split}_samplesize-{self.cfg['scores']['sample_size']}.csv"
        )

    def mean_scores(self, model: str, split: str) -> str:
        return (
            f"{self.latent_run(model)}/mean_scores_{split}_samplesize-{self.cfg['scores']['sample_size']}.csv"
        )

    def history_allfolds(self, model: str) -> str:
        return f"{self.latent_run(model)}/history_allfolds.csv"

    def mean_history_allfolds(self, model: str) -> str:
        return f"{self.latent_run(model)}/mean_history_allfolds.csv"

    def counterfactuals(self, fold: int | str, split: str, subset_id: str) -> str:
        return f"{self.latent_fold('scmedalre', fold)}/counterfactuals/cf_{split}_{subset_id}.npz"

    # figures/<scenario>/<model>/<run>/
    def figures_run(self, model: str) -> str:
        return f"{self.root}/figures/{self.scenario}/{model}/{self.run_name(model)}"

    def avg_loss_png(self, model: str) -> str:
        return f"{self.figures_run(model)}/avg_loss.png"

    def loss_png(self, model: str, fold: int | str) -> str:
        return f"{self.figures_run(model)}/splits_{fold}/loss.png"

    def latent_png(self, model: str, fold: int | str, split: str, label: str) -> str:
        if model == "pca":
            name = f"X_pca_{split}_{label}-{label}_{split}.png"
        else:
            latent = self.latent_name(model, split)
            name = f"{latent}_{label}-{label}_{latent}.png"
        return f"{self.figures_run(model)}/splits_{fold}/{name}"

    # saved_models/<scenario>/<model>/<run>/
    def saved_run(self, model: str) -> str:
        return f"{self.root}/saved_models/{self.scenario}/{model}/{self.run_name(model)}"

    def saved_fold(self, model: str, fold: int | str) -> str:
        return f"{self.saved_run(model)}/splits_{fold}"

    def training_json(self, model: str, fold: int | str) -> str:
        return f"{self.saved_fold(model, fold)}/training.json"

    def configs_json(self, model: str) -> str:
        return f"{self.saved_run(model)}/configs.json"

    # latent_space/<scenario>/mec/
    def mec_root(self) -> str:
        return f"{self.root}/latent_space/{self.scenario}/mec"

    def mec_run(self, features: str, target: str) -> str:
        return f"{self.mec_root()}/{C.mec_run_name(self.cfg, self.dataset, features, target)}"

    def mec_metrics(self, features: str, target: str, fold: int | str) -> str:
        return f"{self.mec_run(features, target)}/splits_{fold}/metrics.csv"

    def mec_summary(self) -> str:
        return f"{self.mec_root()}/MEC_RF_summary.csv"

    # compare_models/<scenario>/<analysis>/
    def analysis(self) -> str:
        return f"{self.root}/compare_models/{self.scenario}/{C.analysis_name(self.cfg, self.dataset)}"

    def compare_file(self, split: str, suffix: str) -> str:
        n = self.cfg["scores"]["sample_size"]
        names = {
            "allscores": f"{split}_allscores.csv",
            "means": f"{split}_scores_{n}.csv",
            "ci": f"{split}_scores_{n}_95CI.csv",
            "png": f"{split}_scores_{n}.png",
            "min": f"{split}_scores_{n}_min_silhouette_batch.csv",
            "max": f"{split}_scores_{n}_max_silhouette_batch.csv",
        }
        return f"{self.analysis()}/{names[suffix]}"

    def umap_dir(self, n_batches_label: str) -> str:
        return f"{self.analysis()}/umap_{n_batches_label}batches"

    def umap_done(self, model: str, split: str, fold: int | str) -> str:
        """Sentinel of one UMAP job (its file names carry the cell count, known only after sampling)."""
        return f"{self.analysis()}/umap_runs/umap_{model}_{split}_split{fold}.json"

    def genomap_dir(self, name: str) -> str:
        return f"{self.analysis()}/{name}"

    def multibatch_dir(self, name: str) -> str:
        return f"{self.analysis()}/CMmultibatch_{name}"

    def genomap_stats(self, test: str) -> str:
        return f"{self.analysis()}/{self.dataset}_pvals_{'me' if test == 'mixedlm' else test}.csv"
