"""The saliency service: an HTTP API and a page around one loaded ASNet.

    asnet serve --weights runs/asnet        # then open http://127.0.0.1:8000/

Modules:
    engine   uploads → images within the limits; a map's statistics (the maps come from
             `asnet_keras.inference.maps`, the path `predict` and evaluation run)
    batcher  requests arriving together share one forward pass (`MicroBatcher`)
    app      the FastAPI routes (/, /predict, /crop, /health, /info) and `create_app`
    schema   the query parameters of each endpoint, one typed model per endpoint
    guards   Host check, body size and time, requests at once (ASGI middleware)
    connections  uvicorn's h11 protocol with a timeout for request headers
    limits   the defaults of those limits and the Host names answered (no framework)
    static/  the page (plain HTML, CSS and JavaScript, served as is)

See `docs/serving.md` for the API, the crop rule and the batching.

Example (no server, through FastAPI's test client):
    >>> from fastapi.testclient import TestClient
    >>> from asnet_keras.serving import create_app
    >>> with TestClient(create_app(model), base_url="http://127.0.0.1") as client:
    ...     png = client.post("/predict", files={"image": open("photo.jpg", "rb")}).content
"""

# First, before anything loads cv2: OpenCV's own pixel limit is set as it loads
# (docs/data_integrity.md §7).
import asnet_keras.io.decoding  # noqa: F401


def create_app(model, **options):
    """`asnet_keras.serving.app.create_app` (imported lazily: FastAPI is only needed here)."""
    from asnet_keras.serving.app import create_app as _create_app  # FastAPI: the serve extra

    return _create_app(model, **options)


__all__ = ["create_app"]
