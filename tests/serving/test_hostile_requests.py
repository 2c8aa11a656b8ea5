"""Hostile request parameters and Host headers, through FastAPI's test client on a 32-px
model (docs/serving.md §7, §8): every query parameter of every endpoint, read from the
app's own OpenAPI description, gets non-finite, negative, huge and non-numeric values
and must answer 422 naming it; a Host that is not this machine's gets 400; the API
description is served with nothing loaded from elsewhere; the service stays healthy."""

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="fastapi is not installed (pip install -r requirements.txt)")
pytest.importorskip("httpx2", reason="the test client's HTTP library is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from asnet_keras.commands import serve  # noqa: E402
from asnet_keras.serving import limits  # noqa: E402
from asnet_keras.serving.app import STATIC_DIR, create_app  # noqa: E402

LOCAL = "http://127.0.0.1"
# Values no parameter accepts: non-finite, negative, huge (beyond float, beyond the
# range), not numbers, empty, and the same inside an aspect ratio (W:H), and too many
# ratios (17 > 16).
HOSTILE_VALUES = (
    "inf", "-inf", "nan", "1e999", "-1e999", "-1", "1e308", "1" + "0" * 400, "abc", "",
    "inf:1", "nan:nan", "1e999:1", "-1:1", "1:0", "1" + "0" * 400 + ":1",
    ",".join(f"{i}:1" for i in range(1, 18)),
)


@pytest.fixture(scope="module")
def app():
    import keras

    from asnet_keras.model import build_asnet

    keras.utils.set_random_seed(3)
    return create_app(build_asnet((32, 32, 3), backbone_weights=None), max_batch=2,
                      batch_wait_ms=1)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, base_url=LOCAL) as test_client:
        yield test_client


def upload():
    ok, buf = cv2.imencode(".png", np.full((20, 30, 3), 90, np.uint8))
    return {"image": ("a.png", buf.tobytes(), "image/png")}


def assert_healthy(client):
    """/health answers 200 and a normal upload gets its 30 × 20 map."""
    assert client.get("/health").status_code == 200
    response = client.post("/predict", files=upload())
    assert response.status_code == 200, response.text
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (20, 30)


def parameter_cases(openapi):
    """(method, path, parameter, value, the other required parameters) for every query
    parameter of every operation in the OpenAPI description, and every hostile value."""
    cases = []
    for path, operations in sorted(openapi["paths"].items()):
        for method, operation in sorted(operations.items()):
            parameters = operation.get("parameters", [])
            assert all(p["in"] == "query" for p in parameters), parameters
            required = {p["name"]: p["schema"]["examples"][0] for p in parameters
                        if p.get("required")}
            for parameter in parameters:
                others = {k: v for k, v in required.items() if k != parameter["name"]}
                cases += [(method, path, parameter["name"], value, others)
                          for value in HOSTILE_VALUES]
    return cases


def test_every_parameter_of_every_endpoint_refuses_hostile_values_with_422(app, client):
    cases = parameter_cases(app.openapi())
    # /predict: map, scale, include_image, format, crop, output; /crop: map, scale,
    # include_image, aspect, format. 11 parameters × 17 values. A new parameter changes
    # this count: it is tested without being listed here, and this line says it was seen.
    named = sorted({(path, name) for _, path, name, _, _ in cases})
    assert named == [("/crop", n) for n in ("aspect", "format", "include_image", "map",
                                            "scale")] + \
                    [("/predict", n) for n in ("crop", "format", "include_image", "map",
                                               "output", "scale")]
    assert len(cases) == 11 * len(HOSTILE_VALUES) == 187
    failures = []
    for method, path, name, value, others in cases:
        response = client.request(method.upper(), path, params={**others, name: value},
                                  files=upload())
        detail = response.json().get("detail", "") if response.headers.get(
            "content-type", "").startswith("application/json") else ""
        if response.status_code != 422 or not (f"{name}=" in detail or f"'{name}'" in detail):
            failures.append((path, name, value[:30], response.status_code, detail[:120]))
    assert failures == [], failures[:10]
    assert_healthy(client)


@pytest.mark.parametrize("query, message", [
    # the 500: an infinite scale on /predict reached the crop search
    ("/predict?format=json&crop=16:9&scale=inf", "scale='inf': Input should be a finite number"),
    ("/predict?scale=1e999", "scale='1e999': Input should be a finite number"),
    ("/crop?aspect=16:9&scale=-1", "scale='-1': Input should be greater than 0"),
    ("/crop?aspect=1e999:1", "aspect='1e999:1': aspect ratio '1e999:1': write it as WIDTH:HEIGHT"),
    ("/crop?aspect=" + ",".join(f"{i}:1" for i in range(1, 18)),
     "17 aspect ratios: pass at most 16"),
    ("/predict?include_image=maybe", "include_image='maybe': Input should be a valid boolean"),
    ("/predict?maps=fixation", "unknown parameter maps='fixation': the parameters of /predict "
                               "are map, scale, include_image, format, crop"),
    ("/crop?aspect=1:1&scale=nan&map=depth",
     "map='depth': Input should be 'saliency' or 'fixation'; scale='nan': Input should be a "
     "finite number"),
])
def test_the_422_names_each_bad_parameter_and_its_value(client, query, message):
    response = client.post(query, files=upload())
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"], response.text


def test_enumerations_ignore_case_and_valid_values_pass(client):
    response = client.post("/crop?aspect=1:1&format=PNG&map=Saliency&scale=0.5",
                           files=upload())
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    # 1:1 in 30 × 20: a 20 × 20 window, halved by scale=0.5
    assert response.headers["X-Crop-Box"].split(",")[2:] == ["10", "10"]


@pytest.mark.parametrize("host, status", [
    ("127.0.0.1", 200), ("127.0.0.1:8000", 200), ("localhost:1", 200), ("LocalHost", 200),
    ("[::1]:8000", 200), ("[::1]", 200),
    ("evil.example", 400), ("evil.example:8000", 400), ("127.0.0.1.evil.example", 400),
    ("localhost.evil.example", 400), ("127.0.0.2", 400), ("0.0.0.0", 400), ("[::2]", 400),
    ("127.0.0.1:8000@evil.example", 400), ("evil.example#127.0.0.1", 400),
])
def test_only_loopback_host_names_are_answered(client, host, status):
    for method, path in (("GET", "/health"), ("GET", "/"), ("POST", "/predict")):
        response = client.request(method, path, headers={"Host": host},
                                  files=upload() if method == "POST" else None)
        assert response.status_code == status, (host, path, response.text)
        if status == 400:
            assert "is not served here" in response.json()["detail"]
            assert "--allow-host" in response.json()["detail"]
    assert_healthy(client)


def test_allow_host_adds_names(app):
    import keras

    from asnet_keras.model import build_asnet

    keras.utils.set_random_seed(3)
    model = build_asnet((32, 32, 3), backbone_weights=None)
    hosts = limits.allowed_hosts(["MyHost.lan", "192.168.1.20", "fe80::1"])
    assert hosts == ("127.0.0.1", "localhost", "[::1]", "myhost.lan", "192.168.1.20",
                     "[fe80::1]")
    with TestClient(create_app(model, allowed_hosts=hosts, warm_up=False),
                    base_url="http://myhost.lan:8000") as client:
        assert client.get("/health").status_code == 200
        assert client.get("/health", headers={"Host": "[fe80::1]:80"}).status_code == 200
        assert client.get("/health", headers={"Host": "other.lan"}).status_code == 400
    with TestClient(create_app(model, allowed_hosts=limits.allowed_hosts(["*"]),
                               warm_up=False), base_url="http://anything.example") as client:
        assert client.get("/health").status_code == 200


@pytest.mark.parametrize("name", ["myhost:8000", "a b", "x/y", "1.2.3.4:80", "[zz::1]", "",
                                  "evil.example@127.0.0.1"])
def test_allow_host_refuses_what_a_host_header_cannot_carry(name):
    with pytest.raises(ValueError, match="--allow-host"):
        limits.allowed_hosts([name])


def test_api_description_is_served_and_no_page_loads_from_elsewhere(client):
    assert client.get("/docs").status_code == 404  # FastAPI's page loads from a CDN
    assert client.get("/redoc").status_code == 404
    openapi = client.get("/openapi.json")
    assert openapi.status_code == 200
    scale = next(p for p in openapi.json()["paths"]["/crop"]["post"]["parameters"]
                 if p["name"] == "scale")["schema"]
    assert (scale["exclusiveMinimum"], scale["maximum"]) == (0, 1)
    import os
    import re

    for name in os.listdir(STATIC_DIR):
        text = open(os.path.join(STATIC_DIR, name), encoding="utf-8").read()
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text), name
        assert "http://" not in text and "https://" not in text, name
    page = client.get("/").text
    assert 'href="/openapi.json"' in page


@pytest.mark.parametrize("flag, value", [
    ("--max-upload-mb", "nan"), ("--max-upload-mb", "inf"), ("--header-timeout", "inf"),
    ("--body-timeout", "-1"), ("--keep-alive-timeout", "0"), ("--max-connections", "0"),
    ("--batch-wait-ms", "nan"), ("--allow-host", "a b"), ("--precision", "bf16"),
])
def test_serve_refuses_bad_flags_with_exit_2(flag, value, tmp_path, capsys):
    weights = tmp_path / "model.keras"
    weights.write_bytes(b"")  # never loaded: the flags are refused first
    with pytest.raises(SystemExit) as stop:
        status = serve.main(["--weights", str(weights), flag, value])
        raise SystemExit(status)
    assert stop.value.code == 2
    assert flag in capsys.readouterr().err


def test_serve_passes_its_limits_to_uvicorn():
    args = serve.build_parser().parse_args([
        "--weights", "w.keras", "--header-timeout", "3", "--keep-alive-timeout", "2",
        "--max-connections", "7", "--body-timeout", "9", "--allow-host", "box.lan"])
    options = serve.server_options(args)
    assert options["http"].keywords == {"header_timeout": 3.0}
    assert options["timeout_keep_alive"] == 2.0 and "limit_concurrency" not in options
    assert serve.app_options(args)["body_timeout"] == 9.0
    assert serve.app_options(args)["max_connections"] == 7
    assert serve.app_options(args)["allowed_hosts"][-1] == "box.lan"
    defaults = serve.server_options(serve.build_parser().parse_args(["--weights", "w"]))
    assert defaults["http"].keywords == {"header_timeout": limits.DEFAULT_HEADER_TIMEOUT}
    assert defaults["timeout_keep_alive"] == limits.DEFAULT_KEEP_ALIVE_TIMEOUT
