"""The `paper` configuration of `build_asnet`: outputs, widths, preprocessing, errors,
saving and loading (docs/model.md §1.1, docs/framework_notes.md §4)."""

import h5py
import keras
import numpy as np
import pytest

from asnet_keras import build_asnet
from asnet_keras.names import OUTPUT_NAMES
from tests.support.helpers import run_fresh_python


def expected_shapes(size, fixation_28=False, fixation_head=True):
    s = size // 16
    shapes = {
        "fixation": (None, s, s, 1),
        "saliency_conv5": (None, s, s, 1),
        "saliency_conv4": (None, 2 * s, 2 * s, 1),
        "saliency_conv3": (None, 4 * s, 4 * s, 1),
        "saliency_conv2": (None, 8 * s, 8 * s, 1),
        "saliency_conv1": (None, 16 * s, 16 * s, 1),
    }
    if not fixation_head:
        del shapes["fixation"]
    if fixation_28:
        shapes["fixation_conv4"] = (None, 2 * s, 2 * s, 1)
    return shapes


@pytest.mark.parametrize("size", [32, 64, 224])
def test_output_names_and_shapes(size):
    model = build_asnet((size, size, 3), backbone_weights=None)
    assert list(model.output_names) == list(OUTPUT_NAMES)
    got = {name: tuple(t.shape) for name, t in zip(model.output_names, model.outputs, strict=True)}
    assert got == expected_shapes(size)
    assert tuple(model.input.shape) == (None, size, size, 3)


def test_predict_shapes_and_range_at_64px():
    model = build_asnet((64, 64, 3), backbone_weights=None, fixation_28=True)
    images = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    outputs = dict(zip(model.output_names, model.predict(images, verbose=0), strict=True))
    shapes = expected_shapes(64, fixation_28=True)
    assert list(outputs) == list(shapes)
    for name, value in outputs.items():
        assert value.shape == (2,) + shapes[name][1:]
        assert np.all(value >= 0) and np.all(value <= 1), name


# Trainable parameters, worked out from the layer widths of docs/model.md §1.1.
VGG16_CONV_PARAMS = sum(
    9 * cin * cout + cout
    for cin, cout in [
        (3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
        (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512),
    ]
)


def conv(k, cin, cout):
    return k * k * cin * cout + cout


def convlstm(cin, hidden):
    # kernel (3,3,cin,4F) + recurrent kernel (3,3,F,4F) + bias (4F)
    return 9 * cin * 4 * hidden + 9 * hidden * 4 * hidden + 4 * hidden


def conv_instead_of_lstm(cin, hidden):
    return conv(3, cin, hidden)


def expected_trainable(fixation_head=True, use_convlstm=True, fixation_28=False):
    recurrent = convlstm if use_convlstm else conv_instead_of_lstm
    widths = {5: 64, 4: 64, 3: 64, 2: 64, 1: 32}
    vgg_channels = {5: 512, 4: 512, 3: 256, 2: 128, 1: 64}
    total = VGG16_CONV_PARAMS
    if fixation_head:
        total += conv(3, 512, 1)  # fixation head P
    # stage 5: 3×3 compression, (⊕ P), recurrent block, 1×1 readout
    total += conv(3, 512, 64)
    total += recurrent(64 + (1 if fixation_head else 0), 64) + conv(1, 64, 1)
    for k in (4, 3, 2, 1):
        f = widths[k]
        total += conv(1, vgg_channels[k], f) + 2 * f  # 1×1 conv + BN gamma/beta
        total += recurrent(f + 1, f) + conv(1, f, 1)
    if fixation_28:
        total += recurrent(64 + 1, 64) + conv(1, 64, 1)
    return total


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"fixation_head": False},
        {"use_convlstm": False},
        {"fixation_28": True},
    ],
    ids=["paper", "wo_fixation", "wo_convlstm", "asnet_28"],
)
def test_trainable_parameter_count_matches_widths(options):
    model = build_asnet((32, 32, 3), backbone_weights=None, **options)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == expected_trainable(**options)


def test_paper_parameter_count_at_224():
    model = build_asnet((224, 224, 3), backbone_weights=None)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    # 14,714,688 (VGG16) + 4,609 (P) + 294,976 + 297,472 + 65 (stage 5)
    # + 32,832 + 128 + 297,472 + 65 (4) + 16,448 + 128 + 297,472 + 65 (3)
    # + 8,256 + 128 + 297,472 + 65 (2) + 2,080 + 64 + 75,008 + 33 (1)
    assert trainable == 16_339_526 == expected_trainable()
    # BN moving statistics (2·(64+64+64+32)) and the frozen preprocessing conv (9+3).
    assert model.count_params() - trainable == 448 + 12


def test_wo_fixation_has_no_fixation_output():
    model = build_asnet((32, 32, 3), backbone_weights=None, fixation_head=False)
    assert list(model.output_names) == list(OUTPUT_NAMES[1:])
    assert "concat_conv5" not in [layer.name for layer in model.layers]


def test_wo_convlstm_has_no_recurrent_layer():
    model = build_asnet((32, 32, 3), backbone_weights=None, use_convlstm=False)
    classes = {type(layer).__name__ for layer in model.layers}
    assert not any("LSTM" in c for c in classes)
    assert model.get_layer("convlstm_conv1").kernel_size == (3, 3)


def test_preprocessing_is_vgg16_caffe_mode():
    model = build_asnet((32, 32, 3), backbone_weights=None)
    pre = keras.Model(model.input, model.get_layer("preprocess").output)
    # A known pixel: RGB (10, 20, 30) → BGR minus means (30 − 103.939, 20 − 116.779, 10 − 123.68).
    pixel = np.zeros((1, 32, 32, 3), "float32")
    pixel[0, 0, 0] = (10, 20, 30)
    out = pre.predict(pixel, verbose=0)[0, 0, 0]
    np.testing.assert_allclose(out, [30 - 103.939, 20 - 116.779, 10 - 123.68], atol=1e-4)
    images = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    reference = keras.applications.vgg16.preprocess_input(images.copy())
    np.testing.assert_allclose(pre.predict(images, verbose=0), reference, atol=1e-4)
    assert not model.get_layer("preprocess").trainable


@pytest.mark.parametrize("shape", [(40, 40, 3), (224, 200, 3), (16, 16, 3), (64, 64, 1), (64, 64)])
def test_impossible_shape_raises_value_error_with_advice(shape):
    with pytest.raises(ValueError, match="input_shape"):
        build_asnet(shape, backbone_weights=None)


def test_missing_weights_file_raises_value_error(tmp_path):
    missing = tmp_path / "vgg16_notop.h5"
    with pytest.raises(ValueError, match="no such file"):
        build_asnet((32, 32, 3), backbone_weights=str(missing))


def _write_keras2_weights(model, path):
    """A weights file laid out like Keras' own VGG16 no-top download (Keras 2 h5)."""
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


def test_local_vgg16_weights_file_is_loaded(tmp_path):
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    _write_keras2_weights(vgg, path)
    model = build_asnet((32, 32, 3), backbone_weights=str(path))
    for name in ("block1_conv1", "block3_conv2", "block5_conv3"):
        pairs = zip(model.get_layer(name).get_weights(), vgg.get_layer(name).get_weights(),
                    strict=True)
        for ours, theirs in pairs:
            np.testing.assert_array_equal(ours, theirs)


def test_weights_file_that_does_not_fit_raises_value_error(tmp_path):
    other = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, name="block1_conv1")]
    )
    path = tmp_path / "not_vgg.h5"
    _write_keras2_weights(other, path)
    with pytest.raises(ValueError, match="does not fit VGG16"):
        build_asnet((32, 32, 3), backbone_weights=str(path))


def test_unknown_config_and_recurrence_raise():
    with pytest.raises(ValueError, match="config"):
        build_asnet((32, 32, 3), backbone_weights=None, config="journal")
    with pytest.raises(ValueError, match="recurrence"):
        build_asnet((32, 32, 3), backbone_weights=None, recurrence="fast")
    with pytest.raises(ValueError, match="fixation_28"):
        build_asnet((32, 32, 3), backbone_weights=None, fixation_head=False, fixation_28=True)


def test_only_builtin_layers_in_the_stock_graph():
    model = build_asnet((32, 32, 3), backbone_weights=None, recurrence="stock", fixation_28=True)
    for layer in model.layers:
        assert type(layer).__module__.startswith("keras."), layer.name
        assert not isinstance(layer, keras.layers.Lambda)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_saved_model_loads_in_a_fresh_process_without_asnet_keras(tmp_path, suffix):
    model = build_asnet((32, 32, 3), backbone_weights=None, recurrence="stock")
    images = np.random.default_rng(2).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = model.predict(images, verbose=0)
    path = tmp_path / f"asnet{suffix}"
    model.save(path)
    np.savez(tmp_path / "io.npz", images=images, *expected)
    run_fresh_python(
        f"""
        import sys, numpy as np, keras
        model = keras.models.load_model({str(path)!r}, compile=False, safe_mode=True)
        data = np.load("io.npz")
        outputs = model.predict(data["images"], verbose=0)
        for i, out in enumerate(outputs):
            err = float(np.abs(out - data[f"arr_{{i}}"]).max())
            assert err <= 1e-6, (i, err)
        assert list(model.output_names)[0] == "fixation", model.output_names
        assert "asnet_keras" not in sys.modules
        print("ok")
        """,
        cwd=tmp_path,
    )


def test_save_weights_round_trip_into_a_fresh_model(tmp_path):
    model = build_asnet((32, 32, 3), backbone_weights=None)
    images = np.random.default_rng(3).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = model.predict(images, verbose=0)
    path = tmp_path / "x.weights.h5"
    model.save_weights(path)
    keras.utils.set_random_seed(99)  # different initial weights
    fresh = build_asnet((32, 32, 3), backbone_weights=None)
    fresh.load_weights(path)
    for ours, theirs in zip(fresh.predict(images, verbose=0), expected, strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
