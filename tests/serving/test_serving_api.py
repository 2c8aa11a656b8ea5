"""The HTTP service (`asnet_keras.serving`) through FastAPI's test client, on a 64-px model:
every endpoint with its values checked against `predict` and a brute-force crop search,
every kind of bad upload answered with its 4xx, and the micro-batcher's grouping."""

import asyncio
import base64
import re
import struct
import threading
import time
import zlib

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="fastapi is not installed (the serve extra: make setup)")
pytest.importorskip("httpx2", reason="httpx2 (the test client's HTTP library) is not installed (the dev extra: make setup)")

from fastapi.testclient import TestClient  # noqa: E402

import asnet_keras  # noqa: E402
from asnet_keras.inference import cropping, prediction as predict  # noqa: E402
import tests.support.image_files as image_files  # noqa: E402
from asnet_keras.io import read_image  # noqa: E402
from asnet_keras.serving import batcher as batching  # noqa: E402
from asnet_keras.serving.app import STATIC_DIR, create_app  # noqa: E402
from asnet_keras.serving.engine import map_statistics  # noqa: E402

MAX_PIXELS = 5_000  # 61 × 45 = 2,745 passes; 80 × 80 = 6,400 does not
MAX_UPLOAD = 60_000  # bytes
LOCAL = "http://127.0.0.1"  # the test client's Host: one the service answers to


@pytest.fixture(scope="module")
def model_and_path(tmp_path_factory):
    import keras

    from asnet_keras.model import build_asnet

    keras.utils.set_random_seed(7)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    model = build_asnet((64, 64, 3), backbone_weights=None)
    model.save(path)
    return model, str(path)


@pytest.fixture(scope="module")
def client(model_and_path):
    model, path = model_and_path
    app = create_app(model, weights=path, max_batch=4, batch_wait_ms=2,
                     max_pixels=MAX_PIXELS, max_upload_bytes=MAX_UPLOAD)
    with TestClient(app, base_url=LOCAL) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Three image files and what `predict` writes for them (computed once)."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (61, 45, 3), dtype=np.uint8)
    colour[20:40, 10:30] = (250, 240, 20)  # something for the crop to find
    cv2.imwrite(str(folder / "colour.jpg"), colour)
    cv2.imwrite(str(folder / "grey.png"), rng.integers(0, 256, (37, 53), dtype=np.uint8))
    cv2.imwrite(str(folder / "rgba.png"), rng.integers(0, 256, (40, 40, 4), dtype=np.uint8))
    return folder, ["colour.jpg", "grey.png", "rgba.png"]


@pytest.fixture(scope="module")
def predicted(model_and_path, images, tmp_path_factory):
    model, _ = model_and_path
    folder, names = images
    out = tmp_path_factory.mktemp("predicted")
    written, failures = predict.predict_files(model, [str(folder / n) for n in names], str(out),
                                              progress=False)
    assert failures == []
    return {
        name: {kind: cv2.imread(paths[kind], cv2.IMREAD_UNCHANGED) for kind in ("saliency",
                                                                             "fixation")}
        for name, (_, paths) in zip(names, written, strict=True)
    }


def upload(folder, name):
    data = (folder / name).read_bytes()
    return {"image": (name, data, "image/png" if name.endswith(".png") else "image/jpeg")}


def png_array(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


# ------------------------------------------------------------------------ endpoints


def test_health_and_info(client, model_and_path):
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    info = client.get("/info").json()
    model, path = model_and_path
    assert info["version"] == asnet_keras.__version__
    assert info["weights"] == path
    assert info["input_size"] == 64
    assert info["maps"] == ["saliency", "fixation"]
    assert info["model"]["outputs"] == list(model.output_names)
    assert info["model"]["parameters"] == model.count_params()
    # ASNetOptions read off the weights (no config.json beside an in-memory model).
    assert info["model"]["options"] == {"config": "paper", "input_size": 64,
                                        "fixation_head": True, "use_convlstm": True,
                                        "recurrence": "static", "fixation_28": False}
    assert info["backend"] == "tensorflow" and info["device"] == "CPU"
    assert info["limits"] == {"max_batch": 4, "batch_wait_ms": 2.0, "max_pixels": MAX_PIXELS,
                              "max_upload_bytes": MAX_UPLOAD, "body_timeout_s": 60.0,
                              "max_connections": 32,
                              "allowed_hosts": ["127.0.0.1", "[::1]", "localhost"]}


def test_predict_png_maps_equal_predict(client, images, predicted):
    folder, names = images
    for name in names:
        for kind in ("saliency", "fixation"):
            response = client.post(f"/predict?map={kind}", files=upload(folder, name))
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "image/png"
            expected = predicted[name][kind]
            assert response.headers["x-image-width"] == str(expected.shape[1])
            assert response.headers["x-image-height"] == str(expected.shape[0])
            np.testing.assert_array_equal(png_array(response.content), expected)


def test_predict_json_by_accept_header_and_parameter(client, images, predicted):
    folder, _ = images
    for kwargs in ({"headers": {"Accept": "application/json"}}, {"params": {"format": "json"}}):
        response = client.post("/predict", files=upload(folder, "colour.jpg"), **kwargs)
        assert response.status_code == 200 and response.headers["content-type"] == (
            "application/json")
        result = response.json()
        assert (result["width"], result["height"]) == (45, 61)
        for kind in ("saliency", "fixation"):
            entry = result["maps"][kind]
            array = png_array(base64.b64decode(entry["png_base64"]))
            expected = predicted["colour.jpg"][kind]
            np.testing.assert_array_equal(array, expected)
            stats = entry["stats"]
            values = expected.astype(np.float64)
            assert (stats["min"], stats["max"]) == (values.min(), values.max())
            assert stats["mean"] == pytest.approx(values.mean(), abs=1e-4)
            assert stats["salient_fraction"] == pytest.approx((values >= 128).mean(), abs=1e-6)
            ys, xs = np.indices(values.shape)
            assert stats["centroid"]["x"] == pytest.approx((xs * values).sum() / values.sum(),
                                                           abs=1e-3)
            assert stats["centroid"]["y"] == pytest.approx((ys * values).sum() / values.sum(),
                                                           abs=1e-3)
            assert values[stats["peak"]["y"], stats["peak"]["x"]] == values.max()
    # include_image: the image as decoded, which the maps line up with.
    result = client.post("/predict?format=json&include_image=true",
                         files=upload(folder, "colour.jpg")).json()
    assert result["image"]["format"] == "png"
    shown = png_array(base64.b64decode(result["image"]["base64"]))[..., ::-1]
    np.testing.assert_array_equal(shown, read_image(folder / "colour.jpg"))
    # Accept: image/png (or nothing) gives the PNG.
    response = client.post("/predict", files=upload(folder, "colour.jpg"),
                           headers={"Accept": "image/png"})
    assert response.headers["content-type"] == "image/png"


def test_predict_json_with_crops(client, images, predicted):
    folder, _ = images
    result = client.post("/predict?format=json&crop=16:9,1:1",
                         files=upload(folder, "colour.jpg")).json()
    saliency = predicted["colour.jpg"]["saliency"]
    assert result["crop_map"] == "saliency"
    assert [c["aspect"] for c in result["crops"]] == ["16:9", "1:1"]
    for entry in result["crops"]:
        assert entry == cropping.crop_box(saliency, entry["aspect"]).to_dict()


def brute_force_box(saliency, h, w):
    """Every position summed directly; ties: nearest the centre, then smaller y, then x."""
    height, width = saliency.shape
    candidates = []
    for y in range(height - h + 1):
        for x in range(width - w + 1):
            mass = int(saliency[y:y + h, x:x + w].astype(np.int64).sum())
            centre = (2 * x + w - width) ** 2 + (2 * y + h - height) ** 2
            candidates.append((-mass, centre, y, x))
    _, _, y, x = min(candidates)
    return x, y


@pytest.mark.parametrize("aspect, scale, size", [("16:9", 1.0, (25, 45)), ("1:1", 1.0, (45, 45)),
                                                 ("9:16", 0.5, (31, 17)), ("4:3", 0.8, (27, 36))])
def test_crop_box_equals_brute_force(client, images, predicted, aspect, scale, size):
    folder, _ = images
    response = client.post("/crop", params={"aspect": aspect, "scale": scale},
                           files=upload(folder, "colour.jpg"))
    assert response.status_code == 200, response.text
    crop = response.json()["crop"]
    saliency = predicted["colour.jpg"]["saliency"]  # 61 × 45
    assert (crop["height"], crop["width"]) == size
    assert (crop["x"], crop["y"]) == brute_force_box(saliency, *size)
    window = saliency[crop["y"]:crop["y"] + size[0], crop["x"]:crop["x"] + size[1]]
    assert crop["mass"] == int(window.astype(np.int64).sum())
    assert crop["mass_fraction"] == pytest.approx(crop["mass"] / saliency.astype(np.int64).sum())


def test_crop_on_fixation_map_and_as_image(client, images, predicted):
    folder, _ = images
    rgb = read_image(folder / "colour.jpg")
    result = client.post("/crop?aspect=1:1&map=fixation&include_image=true",
                         files=upload(folder, "colour.jpg")).json()
    box = cropping.crop_box(predicted["colour.jpg"]["fixation"], "1:1")
    assert result["map"] == "fixation"
    assert {k: result["crop"][k] for k in ("x", "y", "width", "height")} == {
        "x": box.x, "y": box.y, "width": box.width, "height": box.height}
    shown = png_array(base64.b64decode(result["crop"]["image_base64"]))[:, :, ::-1]
    np.testing.assert_array_equal(shown, box.crop(rgb))

    response = client.post("/crop?aspect=16:9&format=png", files=upload(folder, "colour.jpg"))
    assert response.headers["content-type"] == "image/png"
    x, y, w, h = (int(v) for v in response.headers["x-crop-box"].split(","))
    np.testing.assert_array_equal(png_array(response.content)[:, :, ::-1],
                                  rgb[y:y + h, x:x + w])
    assert (w, h) == (45, 25)
    several = client.post("/crop?aspect=16:9,9:16", files=upload(folder, "colour.jpg")).json()
    assert [c["aspect"] for c in several["crops"]] == ["16:9", "9:16"]


def test_raw_body_upload(client, images, predicted):
    folder, _ = images
    response = client.post("/predict", content=(folder / "grey.png").read_bytes(),
                           headers={"Content-Type": "image/png"})
    assert response.status_code == 200
    np.testing.assert_array_equal(png_array(response.content), predicted["grey.png"]["saliency"])


def test_concurrent_requests_share_a_forward_pass_and_keep_their_maps(client, images, predicted):
    folder, names = images
    results = {}
    batcher = client.app.state.service.batcher
    batcher.max_wait = 0.5  # a wide window, so that the three requests surely meet

    def call(name):
        response = client.post("/predict", files=upload(folder, name))
        results[name] = (response.status_code, int(response.headers["x-batch-size"]),
                         png_array(response.content))

    threads = [threading.Thread(target=call, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join(timeout=120)
    finally:
        batcher.max_wait = 0.002
    assert sorted(results) == sorted(names)
    assert max(size for _, size, _ in results.values()) >= 2  # they shared a pass
    for name, (status, _, array) in results.items():
        assert status == 200
        # The same image in a batch with others: its map may differ from the batch-1
        # map by float round-off in the convolution kernels, never by more than 1 level.
        assert np.abs(array.astype(int) - predicted[name]["saliency"].astype(int)).max() <= 1


def test_a_lone_request_does_not_wait_for_the_batch_window(client, images, predicted):
    folder, names = images
    batcher = client.app.state.service.batcher
    batcher.max_wait = 5.0  # a window no request should ever sit out alone
    try:
        started = time.perf_counter()
        response = client.post("/predict", files=upload(folder, names[0]))
        elapsed = time.perf_counter() - started
    finally:
        batcher.max_wait = 0.002
    assert response.status_code == 200 and response.headers["x-batch-size"] == "1"
    assert float(response.headers["x-queue-ms"]) < 1000 and elapsed < 4.0
    assert client.get("/health").json()["batches"]["arriving"] == 0
    np.testing.assert_array_equal(png_array(response.content), predicted[names[0]]["saliency"])


def test_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert client.get("/static/style.css").status_code == 200
    assert "javascript" in client.get("/static/page.js").headers["content-type"]
    # page.js is loaded before the script that uses it
    assert page.text.index("/static/page.js") < page.text.index("/static/app.js")
    # Every element the script looks up exists on the page.
    ids = set(re.findall(r'\bid="([^"]+)"', page.text))
    used = set(re.findall(r'\$\("([^"]+)"\)', script.text))
    used |= {f"{prefix}-{kind}" for prefix in ("img", "dl") for kind in ("fixation", "saliency")}
    assert used and used <= ids, used - ids


# ------------------------------------------------------------------------ bad input


def png_header_only(width, height):
    """A PNG whose header claims width × height pixels (and nothing decodable after)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)))


def good_jpeg():
    ok, buf = cv2.imencode(".jpg", np.full((30, 40, 3), 128, np.uint8))
    return buf.tobytes()


def good_png(height, width):
    ok, buf = cv2.imencode(".png", np.full((height, width, 3), 90, np.uint8))
    return buf.tobytes()


BAD_UPLOADS = {
    "empty file": (dict(files={"image": ("a.jpg", b"", "image/jpeg")}), 400, "empty upload"),
    "not an image": (dict(files={"image": ("a.jpg", b"hello, world" * 10, "image/jpeg")}), 415,
                     "not an image"),
    "truncated JPEG": (dict(files={"image": ("a.jpg", good_jpeg()[:-300], "image/jpeg")}), 422,
                       "truncated JPEG"),
    "truncated PNG": (dict(files={"image": ("a.png", good_png(30, 40)[:-20], "image/png")}), 422,
                      "truncated PNG"),
    "too many pixels": (dict(files={"image": ("a.png", good_png(80, 80), "image/png")}), 413,
                        "6,400 pixels"),
    "huge header": (dict(files={"image": ("a.png", png_header_only(100_000, 100_000),
                                          "image/png")}), 413, "image too large"),
    # docs/serving.md §6: refused from the header, before any decoder runs
    "stray bytes before the JPEG frame": (dict(files={"image": ("a.jpg", image_files.jpeg_header(
        100, 100, before_frame=b"\0\x11"), "image/jpeg")}), 413, "100 × 100 = 10,000 pixels"),
    "16-bit RGB over the byte limit": (dict(files={"image": ("a.png", image_files.flat_png(
        60, 60, 16, 2), "image/png")}), 413, "decodes to 21,600 bytes, the limit is 4 bytes per "
        "pixel × 5,000 = 20,000"),
    "PPM": (dict(files={"image": ("a.ppm", image_files.ppm(20, 20), "image/x-portable-pixmap")}),
            415, r"not an image format read here \(PNM"),
    "Radiance HDR": (dict(files={"image": ("a.hdr", image_files.radiance_hdr(80, 60),
                                           "image/vnd.radiance")}), 415, "Radiance HDR"),
    "too many bytes": (dict(files={"image": ("a.bin", b"\0" * (MAX_UPLOAD + 1), "image/png")}),
                       413, "upload too large"),
    "wrong field": (dict(files={"file": ("a.jpg", good_jpeg(), "image/jpeg")}), 400,
                    "no field 'image'.*'file'"),
    "text in the field": (dict(data={"image": "photo.jpg"},
                               files={"other": ("a.txt", b"x", "text/plain")}), 400,
                          "holds text, not a file"),
    "form without a file": (dict(data={"image": "photo.jpg"}), 400, "unsupported Content-Type"),
    "no upload at all": (dict(), 400, "unsupported Content-Type"),
    "JSON body": (dict(json={"image": "x"}), 400, "unsupported Content-Type"),
}
assert len(BAD_UPLOADS) == 16


def test_a_16_bit_grey_png_within_the_byte_limit_is_answered(client):
    # 60 × 60 = 3,600 px at 2 bytes: 7,200 bytes ≤ 4 × 5,000 (docs/serving.md §6)
    png = image_files.flat_png(60, 60, 16, 0)
    response = client.post("/predict", files={"image": ("a.png", png, "image/png")})
    assert response.status_code == 200, response.text
    assert (response.headers["X-Image-Width"], response.headers["X-Image-Height"]) == ("60", "60")


def test_max_pixels_beyond_opencvs_own_limit_is_a_usage_error(model_and_path, capsys):
    from asnet_keras.commands import serve
    from asnet_keras.io import decoding

    _, path = model_and_path
    too_many = str(decoding.OPENCV_MAX_PIXELS + 1)
    assert serve.main(["--weights", path, "--max-pixels", too_many]) == 2
    assert f"--max-pixels {int(too_many):,}: pass 1 to" in capsys.readouterr().err


@pytest.mark.parametrize("kind", list(BAD_UPLOADS))
@pytest.mark.parametrize("endpoint", ["/predict", "/crop?aspect=1:1"])
def test_bad_uploads_get_their_4xx_and_the_service_lives_on(client, kind, endpoint):
    kwargs, status, message = BAD_UPLOADS[kind]
    response = client.post(endpoint, **kwargs)
    assert response.status_code == status, response.text
    assert re.search(message, response.json()["detail"]), response.json()
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("url, message", [
    ("/crop", "missing parameter 'aspect'"),
    ("/crop?aspect=16-9", "WIDTH:HEIGHT"),
    ("/crop?aspect=16:9&scale=2", "scale='2': Input should be less than or equal to 1"),
    ("/crop?aspect=16:9,1:1&format=png", "single aspect"),
    ("/crop?aspect=16:9&format=gif", "format='gif': Input should be 'json', 'png' or 'jpeg'"),
    ("/predict?map=depth", "'saliency' or 'fixation'"),
    ("/predict?format=xml", "'png' or 'json'"),
    ("/predict?format=json&crop=0:0", "greater than 0"),
])
def test_bad_parameters_get_422(client, images, url, message):
    folder, _ = images
    response = client.post(url, files=upload(folder, "colour.jpg"))
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


def test_model_without_fixation_head(tmp_path):
    import keras

    from asnet_keras.model import build_asnet

    keras.utils.set_random_seed(2)
    model = build_asnet((32, 32, 3), backbone_weights=None, fixation_head=False)
    with TestClient(create_app(model, max_batch=1, batch_wait_ms=0), base_url=LOCAL) as client:
        assert client.get("/info").json()["maps"] == ["saliency"]
        files = {"image": ("a.png", good_png(20, 30), "image/png")}
        result = client.post("/predict?format=json", files=files).json()
        assert list(result["maps"]) == ["saliency"]
        response = client.post("/predict?map=fixation", files=files)
        assert response.status_code == 422 and "no fixation head" in response.json()["detail"]


def test_released_model_with_released_postprocess_equals_predict(images, tmp_path):
    import keras

    from asnet_keras.model import build_asnet

    folder, _ = images
    # A low-contrast grey file: main.py stretches it to 0…255 before the network
    # (docs/released_pipeline.md §2), so the service must read it the same way.
    levels = np.random.default_rng(5).integers(60, 191, (37, 53), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "dim.png"), levels)
    keras.utils.set_random_seed(4)
    model = build_asnet((64, 64, 3), backbone_weights=None, config="released")
    written, _ = predict.predict_files(model, [str(tmp_path / "dim.png")], str(tmp_path / "out"),
                                       postprocess="released", progress=False)
    app = create_app(model, postprocess="released", max_batch=1, batch_wait_ms=0)
    with TestClient(app, base_url=LOCAL) as client:
        info = client.get("/info").json()
        assert info["model"]["options"]["config"] == "released"
        assert info["postprocess"] == "released"
        for kind in ("saliency", "fixation"):
            response = client.post(f"/predict?map={kind}", files=upload(tmp_path, "dim.png"))
            expected = cv2.imread(written[0][1][kind], cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(png_array(response.content), expected)


def test_map_statistics_by_hand():
    array = np.zeros((3, 4), np.uint8)
    array[2, 3] = 255
    array[0, 1] = 51
    stats = map_statistics(array)
    assert (stats["min"], stats["max"]) == (0, 255)
    assert stats["mean"] == pytest.approx(306 / 12, abs=1e-4)
    assert stats["salient_fraction"] == pytest.approx(1 / 12, abs=1e-6)
    assert stats["centroid"] == {"x": pytest.approx((51 * 1 + 255 * 3) / 306, abs=1e-3),
                                 "y": pytest.approx((255 * 2) / 306, abs=1e-3)}
    assert stats["peak"] == {"x": 3, "y": 2}
    assert map_statistics(np.zeros((3, 5), np.uint8))["centroid"] == {"x": 2.0, "y": 1.0}


# ------------------------------------------------------------------------ the batcher


def test_micro_batcher_groups_up_to_max_batch_and_isolates_failures():
    seen = []

    def run(items):
        seen.append(list(items))
        if "boom" in items:
            raise RuntimeError("model failed")
        return [item * 2 for item in items]

    async def scenario():
        batcher = batching.MicroBatcher(run, max_batch=4, max_wait_ms=50)
        first = await asyncio.gather(*(batcher.submit(i) for i in range(6)))
        failed = await asyncio.gather(batcher.submit("boom"), batcher.submit(1),
                                      return_exceptions=True)
        after = await batcher.submit(21)
        stats = batcher.stats()
        await batcher.stop()
        batcher.close()
        return first, failed, after, stats

    first, failed, after, stats = asyncio.run(scenario())
    assert [output for output, _ in first] == [0, 2, 4, 6, 8, 10]
    assert [info.batch_size for _, info in first] == [4, 4, 4, 4, 2, 2]
    assert seen[:2] == [[0, 1, 2, 3], [4, 5]]
    assert all(isinstance(err, RuntimeError) for err in failed)  # both in the failing batch
    assert after[0] == 42 and after[1].batch_size == 1  # the worker went on
    assert stats["batches"] == 3 and stats["items"] == 7 and stats["largest_batch"] == 4


def test_micro_batcher_one_at_a_time_and_a_lone_request_starts_at_once():
    def run(items):
        return [len(items)] * len(items)

    async def scenario():
        batcher = batching.MicroBatcher(run, max_batch=1, max_wait_ms=1000)
        sizes = await asyncio.gather(*(batcher.submit(i) for i in range(3)))
        lone = batching.MicroBatcher(run, max_batch=8, max_wait_ms=1000)
        _, info = await lone.submit(0)
        for b in (batcher, lone):
            await b.stop()
            b.close()
        return [s for s, _ in sizes], info

    sizes, info = asyncio.run(scenario())
    assert sizes == [1, 1, 1]  # max_batch 1 never waits for company
    assert info.batch_size == 1 and info.queue_ms < 500  # nobody arriving: no 1 s window
    with pytest.raises(ValueError, match="max_batch"):
        batching.MicroBatcher(run, max_batch=0)


def test_micro_batcher_waits_for_arriving_requests_and_at_most_the_window():
    """A pass that is not full waits for requests announced by `arriving()`: until they
    are submitted, until they leave without submitting (a refused upload), or at most
    `max_wait_ms` after its first item."""
    def run(items):
        return [len(items)] * len(items)

    async def late(batcher, seconds, submit=True):
        with batcher.arriving():
            await asyncio.sleep(seconds)  # reading and decoding a slow upload
        if submit:
            return await batcher.submit("late")

    async def scenario():
        joined = batching.MicroBatcher(run, max_batch=8, max_wait_ms=2000)
        arriving_then = joined.stats()["arriving"]
        both = await asyncio.gather(joined.submit("first"), late(joined, 0.2))
        refused = batching.MicroBatcher(run, max_batch=8, max_wait_ms=2000)
        alone, _ = await asyncio.gather(refused.submit("first"), late(refused, 0.2, False))
        bounded = batching.MicroBatcher(run, max_batch=8, max_wait_ms=100)
        capped, last = await asyncio.gather(bounded.submit("first"), late(bounded, 1.0))
        for b in (joined, refused, bounded):
            await b.stop()
            b.close()
        return arriving_then, both, alone, capped, last

    arriving_then, both, alone, capped, last = asyncio.run(scenario())
    assert arriving_then == 0
    assert [size for size, _ in both] == [2, 2]  # the arriving request joined the pass
    assert 150 <= both[0][1].queue_ms < 1500  # the first waited about 200 ms for it
    assert alone[0] == 1 and 150 <= alone[1].queue_ms < 1500  # it left: no 2 s wait
    assert capped[0] == 1 and 80 <= capped[1].queue_ms < 700  # the 100 ms window held
    assert last[0] == 1


def test_static_dir_is_packaged():
    import os

    assert sorted(os.listdir(STATIC_DIR)) == ["app.js", "index.html", "page.js", "style.css"]
