"""The one prediction path (`asnet_keras.inference.maps`): its maps equal a computation
written out here by hand, and one image gives the same uint8 maps through
`predict_maps`, `predict` (the PNG read back), the service and evaluation's scorer."""

import cv2
import numpy as np
import pytest

from asnet_keras.inference import prediction
from asnet_keras.inference.maps import MapPipeline, model_input_size, predict_maps
from asnet_keras.io import read_image

SIZE = 32  # the conftest model's input side


@pytest.fixture(scope="module")
def model(model_path):
    import keras

    return keras.models.load_model(model_path, compile=False)


def bilinear(array, height, width):
    """`array` resized to (height, width): bilinear with half-pixel centres, the source
    coordinate clamped to the edge pixels (OpenCV's INTER_LINEAR when enlarging), in
    float64."""
    def axis(n_out, n_in):
        x = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(x).astype(int)
        return low, np.minimum(low + 1, n_in - 1), x - low

    y0, y1, fy = axis(height, array.shape[0])
    x0, x1, fx = axis(width, array.shape[1])
    a = array.astype(np.float64)
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bottom = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


def test_maps_equal_a_computation_by_hand(model):
    import tensorflow as tf

    image = np.random.default_rng(1).integers(0, 256, (61, 45, 3), dtype=np.uint8)
    # The network input: TensorFlow's antialiased bilinear resize of the float image,
    # clipped to 0-255 (the training pipeline's); then one forward pass.
    x = tf.image.resize(image.astype(np.float32), (SIZE, SIZE), antialias=True).numpy()
    outputs = dict(zip(model.output_names, model.predict_on_batch(np.clip(x, 0, 255)[None]), strict=True))
    got = predict_maps(model, [image])[0]
    assert list(got) == ["saliency", "fixation"]
    for kind, name in (("saliency", "saliency_conv1"), ("fixation", "fixation")):
        assert outputs[name].shape[1:3] == {"saliency": (32, 32), "fixation": (2, 2)}[kind]
        level = 255 * np.clip(bilinear(outputs[name][0, ..., 0], 61, 45), 0, 1)
        expected = np.rint(level).astype(np.uint8)
        assert got[kind].dtype == np.uint8 and got[kind].shape == (61, 45)
        # Exact, except where 255·p lies within float32 round-off of a half level:
        # there either neighbouring level is right.
        tie = np.abs(level - np.floor(level) - 0.5) < 1e-4
        assert tie.mean() < 0.01
        np.testing.assert_array_equal(got[kind][~tie], expected[~tie])
        assert np.abs(got[kind][tie].astype(int) - expected[tie].astype(int)).max(
            initial=0) <= 1


def test_released_postprocess_is_main_py_around_the_network(model):
    """With "released", the pipeline is `released_preprocess` → network →
    `released_postprocess` (those two are checked against Pillow in tests/released)."""
    from asnet_keras.inference.released_processing import released_postprocess, released_preprocess

    grey = np.random.default_rng(2).integers(60, 191, (37, 53), dtype=np.uint8)  # 2-D: main.py
    outputs = dict(zip(model.output_names,
                       model.predict_on_batch(released_preprocess(grey, SIZE)[None]), strict=True))
    got = predict_maps(model, [grey], postprocess="released")[0]
    for kind, name in (("saliency", "saliency_conv1"), ("fixation", "fixation")):
        expected = released_postprocess(outputs[name][0, ..., 0], (37, 53))
        np.testing.assert_array_equal(got[kind], expected)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    from data_prep.synthetic import make_synthetic

    root = tmp_path_factory.mktemp("prepared")
    make_synthetic(root, n=2, size=48, n_test=2)
    return str(root)


def test_one_image_gives_the_same_maps_everywhere(model, prepared, tmp_path, monkeypatch):
    """predict_maps, predict's PNG files, the service and evaluation's scorer input,
    each with a forward pass of one image: identical uint8 maps."""
    pytest.importorskip("fastapi", reason="the service needs fastapi")
    pytest.importorskip("httpx2", reason="the service's test client needs httpx2")
    from fastapi.testclient import TestClient

    from asnet_keras.data.layout import samples
    from asnet_keras.evaluation import api as evaluation
    from asnet_keras.serving.app import create_app

    sample = samples(prepared, "synthetic-both", "test")[0]
    image = read_image(sample.image)
    names = list(model.output_names)
    direct = predict_maps(model, [image], names)[0]
    assert direct["saliency_conv1"].shape == image.shape[:2]

    written, failures = prediction.predict_files(model, [sample.image], str(tmp_path / "out"),
                                                 batch_size=1, progress=False)
    assert failures == []
    for kind, name in (("saliency", "saliency_conv1"), ("fixation", "fixation")):
        saved = cv2.imread(written[0][1][kind], cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(saved, direct[name])

    with TestClient(create_app(model, max_batch=1, batch_wait_ms=0),
                    base_url="http://127.0.0.1") as client:
        with open(sample.image, "rb") as f:
            files = {"image": ("image.jpg", f.read(), "image/jpeg")}
        for kind, name in (("saliency", "saliency_conv1"), ("fixation", "fixation")):
            response = client.post(f"/predict?map={kind}", files=files)
            assert response.status_code == 200, response.text
            served = cv2.imdecode(np.frombuffer(response.content, np.uint8),
                                  cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(served, direct[name])

    scored = {}

    class Recorder(evaluation.DatasetScorer):
        def add(self, s, maps):
            scored[s.id] = maps
            super().add(s, maps)

    monkeypatch.setattr(evaluation, "DatasetScorer", Recorder)
    evaluation.evaluate_model(model, prepared, ["synthetic-both"], batch_size=1, limit=1,
                              all_outputs=True, n_splits=2, progress=False)
    assert set(scored[sample.id]) == set(names)  # fixation, and every saliency output
    for name, array in scored[sample.id].items():
        np.testing.assert_array_equal(array, direct[name])


class CountingModel:
    """An artefact-like model (what `MapPipeline` uses of one: `inputs`, `output_names`,
    `predict_on_batch`) around a Keras model; it answers a dict, as some runtimes do,
    and records each pass's batch size."""

    def __init__(self, model):
        self.model, self.inputs, self.output_names = model, model.inputs, model.output_names
        self.passes = []

    def predict_on_batch(self, batch):
        self.passes.append(len(batch))
        return dict(zip(self.output_names, self.model.predict_on_batch(batch), strict=True))


def test_stream_keeps_order_bounds_the_batch_and_names_a_bad_item(model):
    rng = np.random.default_rng(3)
    images = {k: rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8)
              for i, k in enumerate("abcd")}
    counting = CountingModel(model)
    pipeline = MapPipeline(counting)
    read_log = []

    def read(item):
        read_log.append(item)
        if item == "bad":
            raise OSError("bad: cannot read this image")
        return images[item]

    stream = pipeline.stream(iter(["a", "bad", "b", "c", "d"]), read=read, batch_size=2)
    first = next(stream)
    assert first[0] == "a" and read_log == ["a", "bad"]  # nothing read ahead of one batch
    rest = list(stream)
    assert [r[0] for r in rest] == ["bad", "b", "c", "d"]
    assert isinstance(rest[0][1], OSError) and rest[0][2] is None
    assert counting.passes == [1, 2, 1]  # a pass ends before the bad item; at most 2
    for item, image, maps in [first] + rest[1:]:
        assert image is images[item]
        assert {k: m.shape for k, m in maps.items()} == {"saliency": image.shape[:2],
                                                         "fixation": image.shape[:2]}

    # The float maps at the network's size, and `finish` of them: the same uint8 maps.
    raw = list(pipeline.stream(["a", "b"], read=images.__getitem__, batch_size=2,
                               finish=False))
    done = list(pipeline.stream(["a", "b"], read=images.__getitem__, batch_size=2))
    for (item, image, net), (_, _, maps) in zip(raw, done, strict=True):
        assert net["saliency"].shape == (SIZE, SIZE) and net["fixation"].shape == (2, 2)
        assert net["saliency"].dtype == np.float32
        finished = pipeline.finish(net, image.shape[:2])
        for kind in maps:
            np.testing.assert_array_equal(finished[kind], maps[kind])


class Unsized:
    inputs = [type("Input", (), {"shape": (None, None, None, 3)})()]
    output_names = ["fixation", "saliency_conv1"]


def test_bad_arguments_are_refused_with_what_to_pass(model):
    with pytest.raises(ValueError, match="postprocess='main.py'"):
        MapPipeline(model, postprocess="main.py")
    with pytest.raises(ValueError, match="no output 'saliency'"):
        MapPipeline(model, ["saliency"])
    with pytest.raises(ValueError, match="a list of output names"):
        MapPipeline(model, "saliency_conv1")
    no_saliency = type("M", (Unsized,), {"output_names": ["fixation"]})()
    with pytest.raises(ValueError, match="no 'saliency_conv1' output"):
        MapPipeline(no_saliency)
    assert model_input_size(Unsized()) == 224 and model_input_size(Unsized(), 64) == 64
    for bad in (0, -32, 2.5, True):
        with pytest.raises(ValueError, match="input_size"):
            model_input_size(Unsized(), bad)

    pipeline = MapPipeline(model)
    for image in (np.zeros((10, 12), np.uint8), np.zeros((10, 12, 3), np.float32),
                  np.zeros((0, 12, 3), np.uint8), np.zeros((10, 12, 4), np.uint8)):
        with pytest.raises(ValueError, match="image must be"):
            pipeline.prepare(image)
    with pytest.raises(ValueError, match=r"prepared \(n, 32, 32, 3\)"):
        pipeline.forward([np.zeros((16, 16, 3), np.float32)])
    with pytest.raises(ValueError, match="at least 1 × 1"):
        pipeline.finish({"saliency": np.zeros((32, 32), np.float32)}, (0, 5))
    for size in (0, 1.5, None):
        with pytest.raises(ValueError, match="batch_size"):
            pipeline.stream([], batch_size=size)  # refused at the call, not at first use
    assert pipeline.maps([]) == [] and pipeline.forward([]) == []
