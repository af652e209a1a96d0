"""The default PyTorch ``fn_train``: seeded mini-batch training with one permutation per epoch.

torch is imported inside the functions, never at module import.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.tabular.fit.common import (
    as_feature_list,
    batch_indices,
    batch_size_of,
    empty_history,
    epochs_of,
    sample_count,
)
from snakelab.tabular.fit.context import current_run

if TYPE_CHECKING:
    import torch


def torch_features(features: Any) -> list[torch.Tensor]:
    """Feature array(s) as a list of float32 tensors (one per feature; shape (n, ...))."""
    import torch

    return [torch.as_tensor(np.asarray(x, dtype=np.float32)) for x in as_feature_list(features)]


def _class_index_loss(loser: Any) -> bool:
    import torch

    return isinstance(loser, (torch.nn.CrossEntropyLoss, torch.nn.NLLLoss))


def torch_target(labels: Any, loser: Any) -> torch.Tensor:
    """Labels as the tensor ``loser`` expects.

    Integer labels (ordinal, shape (n,) or (n, 1)) become a 1-D int64 tensor of class indices for
    ``CrossEntropyLoss``/``NLLLoss``; every other label (one-hot, binary, regression) becomes float32 with
    its shape kept.
    """
    import torch

    array = np.asarray(labels)
    if _class_index_loss(loser) and np.issubdtype(array.dtype, np.integer):
        return torch.as_tensor(array.reshape(len(array), -1)[:, 0].astype(np.int64))
    return torch.as_tensor(array.astype(np.float32))


def torch_batches(
    features: Sequence[torch.Tensor], labels: torch.Tensor, batch_size: int, rng: np.random.Generator
) -> Iterator[tuple[list[torch.Tensor], torch.Tensor]]:
    """One epoch of ``(feature batches, label batch)``: a single permutation selects both (D1 fix).

    ``features``: tensors of shape (n, ...); ``labels``: tensor of shape (n, ...). The last partial batch
    is kept.
    """
    import torch

    n = sample_count(features, labels)
    for idx in batch_indices(n, batch_size, rng):
        index = torch.from_numpy(idx)
        yield [x[index] for x in features], labels[index]


def _is_classification(loser: Any) -> bool:
    import torch

    known = current_run().is_classification
    if known is not None:
        return known
    return isinstance(
        loser, (torch.nn.CrossEntropyLoss, torch.nn.NLLLoss, torch.nn.BCELoss, torch.nn.BCEWithLogitsLoss)
    )


def correct_count(output: torch.Tensor, target: torch.Tensor, loser: Any) -> torch.Tensor:
    """Correct predictions in a batch (a 0-d tensor): argmax for K > 1 outputs, else a 0.5 threshold
    (0 for ``BCEWithLogitsLoss``)."""
    import torch

    if output.ndim >= 2 and output.shape[-1] > 1:
        pred = output.argmax(-1)
        if target.is_floating_point() and target.shape == output.shape:
            truth = target.argmax(-1)
        else:
            truth = target.reshape(pred.shape)
        return (pred == truth).sum()
    threshold = 0.0 if isinstance(loser, torch.nn.BCEWithLogitsLoss) else 0.5
    pred = (output > threshold).reshape(-1)
    return (pred == (target > 0.5).reshape(-1)).sum()


def torch_fit(
    model: torch.nn.Module,
    loser: Any,
    optimizer: torch.optim.Optimizer,
    train_X: Any,
    train_y: Any,
    eval_X: Any = None,
    eval_y: Any = None,
    **hp: Any,
) -> tuple[torch.nn.Module, dict[str, list[float]]]:
    """Train ``model`` for ``epoch_count`` epochs of shuffled mini-batches of ``batch_size``.

    The shuffle uses ``default_rng(current_run().seed)``; one permutation selects features and labels.
    ``model(*features)`` gives the raw output that ``loser(output, target)`` scores. Returns the model (in
    eval mode) and ``{loss, val_loss, accuracy, val_accuracy}`` per epoch (train loss = batch losses
    weighted by batch size, as Keras reports it; accuracy only for classification; val_* only with
    ``eval_X``).
    """
    import torch

    epochs, batch_size = epochs_of(hp), batch_size_of(hp)
    rng = np.random.default_rng(current_run().seed)
    classification = _is_classification(loser)
    features, target = torch_features(train_X), torch_target(train_y, loser)
    n = sample_count(features, target)
    evaluate = eval_X is not None and eval_y is not None
    if evaluate:
        eval_features, eval_target = torch_features(eval_X), torch_target(eval_y, loser)
    history = empty_history(classification, evaluate)
    for _ in range(epochs):
        model.train()
        total, correct = torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.int64)
        for xs, yb in torch_batches(features, target, batch_size, rng):
            optimizer.zero_grad(set_to_none=True)
            output = model(*xs)
            loss = loser(output, yb)
            loss.backward()
            optimizer.step()
            total += loss.detach().double() * len(yb)
            if classification:
                correct += correct_count(output.detach(), yb, loser)
        history["loss"].append(float(total) / n)
        if classification:
            history["accuracy"].append(int(correct) / n)
        if evaluate:
            model.eval()
            with torch.no_grad():
                output = model(*eval_features)
                history["val_loss"].append(float(loser(output, eval_target).item()))
                if classification:
                    history["val_accuracy"].append(
                        int(correct_count(output, eval_target, loser)) / len(eval_target)
                    )
    model.eval()
    return model, history
