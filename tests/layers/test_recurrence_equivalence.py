"""The `static` ASNet graph equals the `stock` one: outputs, gradients, weight files."""

import keras
import numpy as np
import pytest

from asnet_keras.layers import StaticConvLSTM2D, copy_weights_by_name
from asnet_keras.model import build_asnet
from tests.support.backends import value_and_gradients


def _perturb(model, seed):
    """Random weights everywhere (biases and batch-norm statistics too)."""
    rng = np.random.default_rng(seed)
    values = []
    for weight in model.weights:
        value = weight.numpy()
        if "moving_variance" in weight.path:
            value = rng.uniform(0.5, 1.5, value.shape)
        elif value.ndim == 1:  # biases, batch-norm scale, offset and mean
            value = value + rng.normal(scale=0.1, size=value.shape)
        else:  # kernels: keep the initialiser's scale, so activations stay in range
            value = value * rng.uniform(0.5, 1.5, value.shape)
        values.append(value.astype("float32"))
    model.set_weights(values)


def _models(size, seed, **options):
    static = build_asnet((size, size, 3), backbone_weights=None, recurrence="static", **options)
    stock = build_asnet((size, size, 3), backbone_weights=None, recurrence="stock", **options)
    _perturb(static, seed)
    stock.set_weights(static.get_weights())
    return static, stock


def _images(size, seed, n=2):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


def _predict(model, images):
    """Inference-mode outputs by an eager call (no tracing: quicker than predict here)."""
    return [keras.ops.convert_to_numpy(o) for o in model(images, training=False)]


def _max_difference(a, b):
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
               for x, y in zip(a, b, strict=True))


def _total_loss_gradients(model, images, targets):
    """Gradients of Σ_outputs mean binary cross-entropy, in training mode (batch norm)."""
    ops = keras.ops

    def loss():
        outputs = model(images, training=True)
        terms = [ops.mean(keras.losses.binary_crossentropy(t, o))
                 for t, o in zip(targets, outputs, strict=True)]
        return sum(terms[1:], terms[0])

    _, _, gradients = value_and_gradients(loss, variables=model.trainable_weights)
    # Training-mode outputs use the batch's statistics: this call gives the same maps.
    outputs = [keras.ops.convert_to_numpy(o) for o in model(images, training=True)]
    return outputs, gradients


@pytest.mark.parametrize(
    "size, options",
    [pytest.param(32, {"fixation_28": True}, marks=pytest.mark.backend_heavy), (64, {})],
    ids=["32px-fixation28", "64px"],
)
def test_outputs_and_gradients_equal(size, options):
    static, stock = _models(size, seed=size, **options)
    assert sum(isinstance(layer, StaticConvLSTM2D) for layer in static.layers) == (
        6 if options else 5
    )
    assert not any(isinstance(layer, StaticConvLSTM2D) for layer in stock.layers)
    assert list(static.output_names) == list(stock.output_names)

    images = _images(size, seed=1)
    predicted_static = _predict(static, images)
    predicted_stock = _predict(stock, images)
    assert _max_difference(predicted_static, predicted_stock) <= 1e-5
    # The maps vary across pixels: the comparison is not between two constants.
    assert min(float(np.std(p)) for p in predicted_stock) > 1e-4

    rng = np.random.default_rng(2)
    targets = [rng.uniform(0, 1, p.shape).astype("float32") for p in predicted_stock]
    out_static, grads_static = _total_loss_gradients(static, images, targets)
    out_stock, grads_stock = _total_loss_gradients(stock, images, targets)
    assert _max_difference(out_static, out_stock) <= 1e-5
    assert len(grads_static) == len(grads_stock) == len(static.trainable_weights)
    overall = max(float(np.abs(g).max()) for g in grads_stock)
    for variable, g_static, g_stock in zip(static.trainable_weights, grads_static, grads_stock,
                                           strict=True):
        if variable.path.startswith("compress_conv") and variable.path.endswith("/bias") and (
            variable.path != "compress_conv5/bias"
        ):
            # A bias right before training-mode batch norm has a true gradient of 0; both
            # graphs give rounding noise there, so compare on the scale of all gradients.
            assert np.abs(g_static - g_stock).max() <= 1e-6 * overall, variable.path
            continue
        scale = np.abs(g_stock).max()
        assert scale > 0, variable.path
        relative = np.abs(g_static - g_stock).max() / scale
        assert relative <= 1e-4, (variable.path, relative)


def test_weight_files_and_copies_move_between_the_graphs(tmp_path):
    """Plain `load_weights` both ways (`.weights.h5` and legacy `.h5`), and the by-name copy."""
    static, stock = _models(32, seed=3)
    images = _images(32, seed=4)
    want = _predict(static, images)
    static.save_weights(tmp_path / "static.weights.h5")
    stock.save_weights(tmp_path / "stock.weights.h5")
    static.save(tmp_path / "static.h5")  # legacy HDF5: matched by topology
    stock.save(tmp_path / "stock.h5")

    fresh = {
        kind: build_asnet((32, 32, 3), backbone_weights=None, recurrence=kind)
        for kind in ("static", "stock")
    }
    sources = {"static": "stock", "stock": "static"}
    for seed, suffix in enumerate((".weights.h5", ".h5")):
        for kind, target in fresh.items():
            _perturb(target, seed=10 + seed)
            assert _max_difference(_predict(target, images), want) > 1e-3, kind
            target.load_weights(tmp_path / f"{sources[kind]}{suffix}")
            assert _max_difference(_predict(target, images), want) <= 1e-5, (kind, suffix)

    target = fresh["stock"]
    _perturb(target, seed=20)
    copied = copy_weights_by_name(static, target)
    assert "convlstm_conv1" in copied and "block5_conv3" in copied
    assert _max_difference(_predict(target, images), want) <= 1e-5


def test_copy_weights_by_name_refuses_other_options():
    static = build_asnet((32, 32, 3), backbone_weights=None, fixation_28=True)
    stock = build_asnet((32, 32, 3), backbone_weights=None, recurrence="stock")
    before = [w.numpy() for w in stock.weights]
    with pytest.raises(ValueError, match="fixation_convlstm_conv4"):
        copy_weights_by_name(static, stock)
    for value, weight in zip(before, stock.weights, strict=True):
        np.testing.assert_array_equal(value, weight.numpy())


def test_static_is_the_default():
    model = build_asnet((32, 32, 3), backbone_weights=None)
    assert isinstance(model.get_layer("convlstm_conv5"), StaticConvLSTM2D)
