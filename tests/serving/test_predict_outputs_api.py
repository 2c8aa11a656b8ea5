"""`POST /predict?output=…` (docs/outputs.md §1): the mask, cut-out, background and
overlay of an upload, as PNG, equal to the library's outputs of the map `/predict`
answers for the same upload; a bad value is a 422 naming the choices."""

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="fastapi is not installed (pip install -r requirements.txt)")
pytest.importorskip("httpx2", reason="httpx2 (the test client's HTTP library) is not installed (pip install -r requirements.txt)")

from fastapi.testclient import TestClient  # noqa: E402

from asnet_keras.inference import outputs  # noqa: E402
from asnet_keras.io import read_image  # noqa: E402
from asnet_keras.serving.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def client():
    import keras

    from asnet_keras.model import build_asnet

    keras.utils.set_random_seed(4)
    app = create_app(build_asnet((32, 32, 3), backbone_weights=None), max_batch=1,
                     batch_wait_ms=0)
    with TestClient(app, base_url="http://127.0.0.1") as test_client:  # a served Host
        yield test_client


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    rng = np.random.default_rng(21)
    image = rng.integers(0, 256, (41, 57, 3), dtype=np.uint8)
    image[10:30, 15:40] = (240, 220, 30)
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    cv2.imwrite(str(path), image)
    return path, path.read_bytes()


def _post(client, data, query):
    return client.post(f"/predict{query}", files={"image": ("photo.png", data, "image/png")})


def _decode(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_UNCHANGED)


def test_each_output_equals_the_library_on_the_served_map(client, photo):
    path, data = photo
    image = read_image(path)
    saliency = _decode(_post(client, data, ""))
    assert saliency.shape == (41, 57)

    cut = _decode(_post(client, data, "?output=cutout"))
    np.testing.assert_array_equal(cut[..., 3], saliency)       # alpha = the map
    np.testing.assert_array_equal(cut[..., 2::-1], image)      # the upload's own pixels

    mask = _decode(_post(client, data, "?output=mask"))
    np.testing.assert_array_equal(mask, outputs.binary_mask(saliency))

    background = _decode(_post(client, data, "?output=background"))[..., ::-1]
    white = np.full_like(image, 255)
    np.testing.assert_array_equal(background, outputs.composite(image, saliency, white))

    response = _post(client, data, "?output=overlay&map=fixation")
    assert response.headers["x-output"] == "overlay" and response.headers["x-map"] == "fixation"
    fixation = _decode(_post(client, data, "?map=fixation"))
    np.testing.assert_array_equal(_decode(response)[..., ::-1], outputs.overlay(image, fixation))


@pytest.mark.parametrize("query, message", [
    ("?output=sketch", "map"), ("?output=mask&format=json", "drop format=json")])
def test_bad_output_requests_get_422(client, photo, query, message):
    response = _post(client, photo[1], query)
    assert response.status_code == 422
    assert message in response.text
