"""`asnet serve` as a real server on 127.0.0.1, on a 64-px model: answered
over HTTP from Python, and its page driven in a headless Chromium (Debian's `chromium`
and `chromium-driver`, which `make setup-browser` installs, through Selenium, which
`make setup` installs with the dev extra).

The browser test skips, saying why, where Chromium, ChromeDriver or Selenium is missing;
`make test-browser` runs it (failing instead of skipping, ASNET_REQUIRE_BROWSER=1) and
keeps the screenshot (ASNET_BROWSER_SCREENSHOT, default results/browser/serve_page.png).
ASNET_CHROMIUM and ASNET_CHROMEDRIVER point at other binaries."""

import base64
import json
import os
import shutil
import signal
import urllib.error
import urllib.request
import uuid

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="fastapi is not installed (the serve extra: make setup)")
pytest.importorskip("uvicorn", reason="uvicorn is not installed (the serve extra: make setup)")

from asnet_keras.extras import MissingExtra, requires  # noqa: E402
from asnet_keras.inference import cropping  # noqa: E402
from tests.support.helpers import save_random_asnet  # noqa: E402
from tests.support.serve_process import ServeProcess  # noqa: E402

IMAGE_SHAPE = (120, 200)  # height, width of the uploaded test image
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1700")


def request(url, data=None, content_type=None, timeout=60):
    """(status, headers, body) of a GET, or of a POST when `data` is given (4xx included)."""
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def multipart(field, filename, data):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def test_image(tmp_path_factory):
    """A 200 × 120 JPEG, a soft gradient with a bright disc right of centre, tagged with
    EXIF orientation 6 ("rotate 90°", as phones write): a browser would show it 120 × 200,
    the model reads it as stored, and the page must show what the maps line up with."""
    from PIL import Image

    h, w = IMAGE_SHAPE
    ys, xs = np.mgrid[0:h, 0:w]
    image = np.stack([40 + 60 * xs / w, 70 + 50 * ys / h, np.full((h, w), 110.0)], -1)
    image[(xs - 140) ** 2 + (ys - 55) ** 2 < 28 ** 2] = (250, 200, 40)
    path = tmp_path_factory.mktemp("upload") / "disc.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    Image.fromarray(image.astype(np.uint8)).save(path, quality=95, exif=exif.tobytes())
    return path


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The CLI serving a random 64-px model on a free loopback port; yields (url, process)."""
    folder = tmp_path_factory.mktemp("served")
    model_path = save_random_asnet(folder / "model.keras", 64, 11)
    server = ServeProcess(model_path, [], folder / "serve.log")
    server.wait_healthy(timeout=180)
    yield server.url, server.process, server.log_path
    server.stop()


@pytest.mark.slow
def test_cli_serves_maps_over_http(service, test_image):
    url, process, _ = service
    info = json.loads(request(url + "/info")[2])
    assert info["input_size"] == 64 and info["maps"] == ["saliency", "fixation"]
    body, ctype = multipart("image", "disc.jpg", test_image.read_bytes())
    status, headers, png = request(url + "/predict?map=fixation", body, ctype)
    assert status == 200 and headers["Content-Type"] == "image/png"
    array = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert array.shape == IMAGE_SHAPE and array.dtype == np.uint8
    status, _, answer = request(url + "/predict", *multipart("image", "x.jpg", b"GIF89a..."))
    assert status == 415 and "not an image" in json.loads(answer)["detail"]
    assert process.poll() is None and request(url + "/health")[0] == 200


def test_serve_usage_errors(tmp_path, capsys):
    from asnet_keras.commands import serve

    assert serve.main(["--weights", str(tmp_path / "none.keras")]) == 2
    assert "none.keras: no such model" in capsys.readouterr().err
    for bad in (["--weights", "w", "--port", "70000"], ["--weights", "w", "--max-batch", "0"],
                ["--weights", "w", "--batch-wait-ms", "-1"], []):
        assert serve.main(bad) == 2


@pytest.fixture(scope="module")
def browser_paths():
    """(chromium, chromedriver) paths, or skip saying what to install (before the service
    is started for nothing).

    With ASNET_REQUIRE_BROWSER=1 (`make test-browser`) a missing piece fails instead.
    """
    def missing(reason):
        if os.environ.get("ASNET_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)

    try:
        with requires("dev"):  # Selenium: make setup installs it
            import selenium  # noqa: F401
    except MissingExtra as error:
        missing(str(error))
    chromium = (os.environ.get("ASNET_CHROMIUM") or shutil.which("chromium")
                or shutil.which("chromium-browser") or shutil.which("google-chrome"))
    if not chromium or not os.path.exists(chromium):
        missing("Chromium is not installed: run `make setup-browser` (apt-get install "
                "chromium chromium-driver) for the browser test")
    driver = os.environ.get("ASNET_CHROMEDRIVER") or shutil.which("chromedriver")
    if not driver or not os.path.exists(driver):
        missing("ChromeDriver is not installed: run `make setup-browser` (apt-get install "
                "chromium-driver) for the browser test")
    return chromium, driver


@pytest.mark.slow
def test_page_in_headless_chromium(browser_paths, service, test_image, tmp_path):
    chromium, chromedriver = browser_paths
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url, process, log_path = service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        driver.set_page_load_timeout(60)
        wait = WebDriverWait(driver, 120, poll_frequency=0.2)
        driver.get(url + "/")
        wait.until(lambda d: "64×64" in d.find_element(By.ID, "model-info").text)
        driver.find_element(By.ID, "file").send_keys(str(test_image))
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
                   in ("done", "error"))
        status = driver.find_element(By.ID, "status").text
        state = driver.find_element(By.TAG_NAME, "body").get_attribute("data-state")
        assert state == "done", status

        def natural(element_id):
            return tuple(driver.execute_script(
                "const e = document.getElementById(arguments[0]);"
                "return [e.naturalHeight, e.naturalWidth];", element_id))

        def canvas(element_id):
            return tuple(driver.execute_script(
                "const e = document.getElementById(arguments[0]); return [e.height, e.width];",
                element_id))

        h, w = IMAGE_SHAPE
        for element_id in ("img-image", "img-fixation", "img-saliency"):
            assert natural(element_id) == (h, w), element_id
        assert canvas("overlay") == (h, w)
        # The crop shown is the service's box for 16:9 (the default), drawn at its size.
        body, ctype = multipart("image", "disc.jpg", test_image.read_bytes())
        box = json.loads(request(url + "/crop?aspect=16:9", body, ctype)[2])["crop"]
        assert canvas("crop") == (box["height"], box["width"]) == cropping.window_size(h, w, "16:9")
        assert f"x={box['x']}, y={box['y']}" in driver.find_element(By.ID, "crop-box").text
        # Another preset (from the boxes the page already has), then a typed ratio (/crop).
        Select(driver.find_element(By.ID, "aspect")).select_by_value("1:1")
        wait.until(lambda d: canvas("crop") == (120, 120))
        Select(driver.find_element(By.ID, "aspect")).select_by_value("custom")
        custom = driver.find_element(By.ID, "aspect-custom")
        custom.send_keys("1.91:1")
        driver.execute_script("arguments[0].dispatchEvent(new Event('change'))", custom)
        wait.until(lambda d: canvas("crop") == cropping.window_size(h, w, "1.91:1"))
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
                   == "done")
        # The overlay slider redraws; downloads point at the maps and the crop.
        driver.execute_script("const a = document.getElementById('alpha'); a.value = 80;"
                              "a.dispatchEvent(new Event('input'));")
        assert driver.find_element(By.ID, "alpha-value").text == "80 %"
        for link, prefix in (("dl-saliency", "data:image/png"), ("dl-fixation", "data:image/png"),
                             ("dl-crop", "blob:"), ("dl-overlay", "blob:")):
            wait.until(lambda d: (d.find_element(By.ID, link).get_attribute("href") or "")
                       .startswith(prefix))
        screenshot = os.environ.get("ASNET_BROWSER_SCREENSHOT") or str(tmp_path / "serve_page.png")
        os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
        height = driver.execute_script(
            "return Math.ceil(document.querySelector('footer').getBoundingClientRect().bottom)")
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {  # the whole page
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1400, "height": height, "scale": 1}})
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        assert cv2.imread(screenshot) is not None
        print(f"\nscreenshot of the page: {screenshot}")
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == [], errors
    finally:
        driver.quit()
    assert process.poll() is None


@pytest.mark.slow
def test_service_stops_cleanly_on_sigterm(service):
    _, process, log_path = service
    process.terminate()
    # uvicorn shuts down gracefully, then lets SIGTERM end the process as usual.
    assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    log = log_path.read_text()
    assert "Finished server process" in log and "Traceback" not in log, log
