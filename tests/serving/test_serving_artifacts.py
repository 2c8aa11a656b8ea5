"""The service on exported artefacts (docs/serving.md §1, §5): `serve --weights` opens an
ONNX file or an OpenVINO IR (float32 or bfloat16) through
`asnet_keras.export.runtimes.open_model`, the micro-batcher runs several requests in
one pass of the artefact (its batch dimension is dynamic), and the maps are the Keras
model's."""

import threading

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="fastapi is not installed (pip install -r requirements.txt)")
pytest.importorskip("httpx2", reason="the test client's HTTP library is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from asnet_keras.commands import serve  # noqa: E402
from asnet_keras.export.runtimes import open_model  # noqa: E402
from asnet_keras.serving.app import create_app  # noqa: E402
from tests.support.helpers import save_random_asnet  # noqa: E402

pytestmark = pytest.mark.slow

LOCAL = "http://127.0.0.1"
SHAPES = [(20, 30), (41, 17), (32, 32), (9, 50), (60, 45), (25, 25)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 32-px model saved as .keras and exported to ONNX and OpenVINO (unchecked here:
    the export's own tests check each format against Keras)."""
    from asnet_keras.export.api import export

    folder = tmp_path_factory.mktemp("artefacts")
    weights = save_random_asnet(folder / "model.keras", 32, 8)
    paths = {"keras": weights}
    for fmt, name in (("onnx", "model.onnx"), ("openvino", "model.xml")):
        pytest.importorskip({"onnx": "onnxruntime", "openvino": "openvino"}[fmt])
        export(weights, str(folder / name), check=False)
        paths[fmt] = str(folder / name)
    return paths


def uploads():
    rng = np.random.default_rng(1)
    files = []
    for height, width in SHAPES:
        ok, buf = cv2.imencode(".png", rng.integers(0, 256, (height, width, 3), np.uint8))
        files.append({"image": ("a.png", buf.tobytes(), "image/png")})
    return files


def served_maps(model, weights):
    """Each upload's saliency map, all posted at once (max_batch 4, so several share a
    pass), and the batch sizes the service reported."""
    app = create_app(model, weights=weights, max_batch=4, batch_wait_ms=300)
    maps, sizes = [None] * len(SHAPES), []
    with TestClient(app, base_url=LOCAL) as client:
        info = client.get("/info").json()

        def post(i, files):
            response = client.post("/predict", files=files)
            assert response.status_code == 200, response.text
            maps[i] = cv2.imdecode(np.frombuffer(response.content, np.uint8),
                                   cv2.IMREAD_UNCHANGED)
            sizes.append(int(response.headers["X-Batch-Size"]))

        threads = [threading.Thread(target=post, args=(i, f)) for i, f in enumerate(uploads())]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert client.get("/health").json()["batches"]["items"] == len(SHAPES)
    return maps, sizes, info


@pytest.fixture(scope="module")
def keras_maps(exported):
    return served_maps(open_model(exported["keras"]), exported["keras"])[0]


@pytest.mark.parametrize("fmt, precision, most", [
    ("onnx", "f32", 1), ("openvino", "f32", 1),
    # bfloat16 keeps 8 bits of mantissa: maps within about 1e-3 (1 grey level measured
    # on another 32-px model)
    ("openvino", "bf16", 3),
])
def test_artefacts_are_served_batched_with_the_keras_models_maps(exported, keras_maps, fmt,
                                                                  precision, most):
    maps, sizes, info = served_maps(open_model(exported[fmt], precision), exported[fmt])
    assert info["backend"] == fmt and info["precision"] == precision
    assert info["model"]["format"] == fmt and info["model"]["options"]["input_size"] == 32
    assert max(sizes) > 1  # several requests shared one pass of the artefact
    for served, reference, shape in zip(maps, keras_maps, SHAPES, strict=True):
        assert served.shape == reference.shape == shape
        difference = np.abs(served.astype(int) - reference.astype(int))
        assert difference.max() <= most, (fmt, precision, difference.max())


def test_serve_refuses_bf16_for_anything_but_openvino(exported, capsys):
    assert serve.main(["--weights", exported["onnx"], "--precision", "bf16"]) == 2
    assert "applies to OpenVINO artefacts (.xml) only" in capsys.readouterr().err
