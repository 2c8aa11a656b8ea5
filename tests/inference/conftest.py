"""What the inference tests share: one small model file per test module."""

import pytest

from tests.support.helpers import save_random_asnet


def _model_file(tmp_path_factory, size, seed):
    return save_random_asnet(tmp_path_factory.mktemp("model") / "model.keras", size, seed)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A 32-px ASNet with random weights."""
    return _model_file(tmp_path_factory, 32, 3)


@pytest.fixture(scope="module")
def model_path_64(tmp_path_factory):
    """A 64-px ASNet with random weights (the video tests)."""
    return _model_file(tmp_path_factory, 64, 9)
