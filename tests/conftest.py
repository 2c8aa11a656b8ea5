"""Shared test set-up: quiet TensorFlow, a deterministic seed, small models."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_keras_session(request):
    """Reset Keras' global state and seeds before each test that uses Keras."""
    import sys

    if "keras" in sys.modules:
        import keras

        # free_memory=False skips a full gc.collect() (~1 s per test once TensorFlow is
        # loaded); models of earlier tests are still released by the normal collector.
        keras.backend.clear_session(free_memory=False)
        keras.utils.set_random_seed(1234)
    yield


@pytest.fixture(scope="session", autouse=True)
def _private_verification_cache(tmp_path_factory):
    """Data verification remembers verified datasets in a user cache folder
    (asnet_keras.data.verification.cache_dir); tests (and their subprocesses) use their own."""
    old = os.environ.get("ASNET_KERAS_CACHE")
    os.environ["ASNET_KERAS_CACHE"] = str(tmp_path_factory.mktemp("asnet-keras-cache"))
    yield
    if old is None:
        os.environ.pop("ASNET_KERAS_CACHE", None)
    else:
        os.environ["ASNET_KERAS_CACHE"] = old


@pytest.fixture(scope="session")
def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
