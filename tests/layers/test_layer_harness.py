"""The custom layers through the shared layer harness (tests/support/harness.py)."""

import numpy as np

from asnet_keras.layers import StaticConvLSTM2D
from asnet_keras.model.released.layers import LearningPrior
from tests.support.harness import run_layer_test


def test_static_convlstm_through_the_harness(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 6, 5, 3)).astype("float32")
    out = run_layer_test(StaticConvLSTM2D, {"filters": 4, "kernel_size": 3, "padding": "same"},
                         x, (2, 6, 5, 4), tmp_path)
    assert np.all(np.abs(out) < 1)  # o ⊙ tanh(c): every hidden value lies in (−1, 1)


def test_learning_prior_through_the_harness(tmp_path):
    x = np.random.default_rng(1).normal(size=(2, 7, 7, 3)).astype("float32")
    out = run_layer_test(LearningPrior, {"nb_gaussian": 4}, x, (2, 7, 7, 4), tmp_path)
    assert np.all(out >= 0)  # Gaussian maps are non-negative
