"""Transfer to QC classes: an MLP on the frozen encoder's embeddings of the real volumes, class-balanced metrics.

Labels come from a CSV (`subject, label`, optionally `session, suffix` to label one volume). Metrics are
out-of-fold: subject-grouped, class-stratified cross-validation, so no subject is scored by a head that
saw it; then a final head is fitted on every labelled volume and saved with the model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from mrsynth.data.ingest import VolumeFile
from mrsynth.data.manifest import read_entity_rows
from mrsynth.errors import DataError
from mrsynth.motion.volumes import row_matches
from mrsynth.spec.motion import TransferSpec


@dataclass
class TransferResult:
    metrics: dict[str, float]
    table: pd.DataFrame  # volume, subject, label, predicted (out of fold)
    head: dict[str, Any]  # final head: state dict, classes, standardisation, widths


def volume_labels(csv_path: Path, volumes: list[VolumeFile]) -> dict[str, str]:
    """Volume id -> label; a row with session/suffix labels that volume, one without labels all the subject's."""
    rows = [row for _, row in read_entity_rows(csv_path, ("subject", "label"))]
    labels: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: bool(r.get("session") or r.get("suffix"))):  # specific rows win
        for volume in volumes:
            if row_matches(row, volume) and row["label"]:
                labels[volume.id] = row["label"]
    if not labels:
        raise DataError("no row matches a volume of the dataset", path=str(csv_path))
    return labels


def mlp_head(in_features: int, hidden: list[int], classes: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_features, width), nn.ReLU(), nn.Dropout(dropout)]
        in_features = width
    return nn.Sequential(*layers, nn.Linear(in_features, classes))


def fit_head(x: np.ndarray, y: np.ndarray, n_classes: int, spec: TransferSpec) -> tuple[nn.Sequential, np.ndarray, np.ndarray]:
    """A head trained full-batch with class-balanced cross-entropy on standardised embeddings."""
    torch.manual_seed(spec.seed)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    inputs = torch.from_numpy((x - mean) / std).float()
    counts = np.bincount(y, minlength=n_classes).astype(float)
    weights = torch.from_numpy(np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)).float()
    head = mlp_head(x.shape[1], spec.hidden, n_classes, spec.dropout)
    optimiser = torch.optim.AdamW(head.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    target = torch.from_numpy(y).long()
    for _ in range(spec.epochs):
        head.train()
        optimiser.zero_grad()
        loss_fn(head(inputs), target).backward()
        optimiser.step()
    return head.eval(), mean, std


@torch.no_grad()
def predict_head(head: nn.Sequential, mean: np.ndarray, std: np.ndarray, x: np.ndarray) -> np.ndarray:
    return head(torch.from_numpy((x - mean) / std).float()).argmax(dim=1).numpy()


def _folds(y: np.ndarray, groups: np.ndarray, folds: int, seed: int):
    from sklearn.model_selection import StratifiedGroupKFold

    n = min(folds, len(np.unique(groups)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a class rarer than the folds is expected with few QC labels
        return list(StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=seed).split(np.zeros(len(y)), y, groups))


def class_metrics(true: np.ndarray, predicted: np.ndarray, classes: list[str]) -> dict[str, float]:
    from sklearn.metrics import balanced_accuracy_score, f1_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes never predicted: F1 0, as intended
        metrics = {"balanced_accuracy": float(balanced_accuracy_score(true, predicted))}
        f1 = f1_score(true, predicted, labels=list(range(len(classes))), average=None, zero_division=0)
    metrics.update({f"f1_{name}": float(value) for name, value in zip(classes, f1, strict=True)})
    metrics["macro_f1"] = float(np.mean(f1))
    return metrics


def run_transfer(embeddings: dict[str, np.ndarray], labels: dict[str, str], volumes: list[VolumeFile],
                 spec: TransferSpec) -> TransferResult:
    """Cross-validated metrics of the head on the labelled volumes, and the final head fitted on all of them."""
    labelled = [v for v in volumes if v.id in labels and v.id in embeddings]
    classes = sorted({labels[v.id] for v in labelled})
    subjects = np.array([v.subject for v in labelled])
    if len(classes) < 2 or len(np.unique(subjects)) < 2:
        raise DataError(f"transfer needs two or more classes and subjects among the labelled volumes "
                        f"(got classes {classes}, {len(np.unique(subjects))} subject(s))")
    x = np.stack([embeddings[v.id] for v in labelled]).astype(np.float64)
    y = np.array([classes.index(labels[v.id]) for v in labelled])
    predicted = np.empty_like(y)
    for train, test in _folds(y, subjects, spec.folds, spec.seed):
        head, mean, std = fit_head(x[train], y[train], len(classes), spec)
        predicted[test] = predict_head(head, mean, std, x[test])
    table = pd.DataFrame({"volume": [v.id for v in labelled], "subject": subjects, "label": [classes[i] for i in y],
                          "predicted": [classes[i] for i in predicted]})
    head, mean, std = fit_head(x, y, len(classes), spec)
    state = {"state_dict": {k: v.detach().clone() for k, v in head.state_dict().items()}, "classes": classes,
             "mean": torch.from_numpy(mean), "std": torch.from_numpy(std), "hidden": list(spec.hidden)}
    return TransferResult(class_metrics(y, predicted, classes), table, state)
