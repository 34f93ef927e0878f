"""scikit-learn's bundled 8 x 8 digits (1797 images, no download), with one fixed train/test split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TEST_FRACTION = 0.2
SPLIT_SEED = 0  # the split never changes with the training seed: every run sees the same test set


@dataclass(frozen=True)
class Dataset:
    x_train: np.ndarray  # (N, 64) float32 in [0, 1]
    y_train: np.ndarray  # (N,) int labels 0..9
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def features(self) -> int:
        return self.x_train.shape[1]

    @property
    def classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def digits() -> Dataset:
    """The digits dataset, pixels scaled from 0..16 to [0, 1], split 80/20 stratified by class."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        (x / 16.0).astype(np.float32), y.astype(np.int32), test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y
    )
    return Dataset(x_train, y_train, x_test, y_test)
