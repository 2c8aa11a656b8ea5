"""The HTTP application: FastAPI routes around one loaded model (`docs/serving.md §1`).

    GET  /          the page (static/index.html): drop an image, see its maps and crop
    GET  /health    {"status": "ok", ...} once the model is loaded
    GET  /info      model options, input size, backend, device, versions, limits
    POST /predict   an image → its saliency (or fixation) map as PNG, or both as JSON;
                    ?output=mask|cutout|background|overlay: that output as PNG
    POST /crop      an image → the crop box keeping the most saliency for an aspect ratio

Uploads: multipart/form-data with the file in the field `image` (what the page and
`curl -F image=@photo.jpg` send), or the raw file as the request body with an `image/*`
or `application/octet-stream` content type (`curl --data-binary @photo.jpg`).
Refused uploads get a 4xx JSON answer `{"detail": "<what is wrong and what to do>"}`:
400 wrong or missing field / empty file / a Host not answered, 408 a body too slow,
411 no Content-Length, 413 over the byte or pixel limit, 415 not an image, 422
truncated or corrupt image or a bad parameter (`schema`), 503 too many requests at once.
Host, body size and time and the request cap: `guards.RequestGuard` around the app.

Requests are answered concurrently; their forward passes are grouped by
`batcher.MicroBatcher` (up to `max_batch` images; a pass that is not full waits at most
`batch_wait_ms` for requests still being read and decoded).
"""

import base64
import json
import os
import time
from contextlib import asynccontextmanager
from typing import Annotated

import asnet_keras
from asnet_keras.export.contract import METADATA_KEY
from asnet_keras.export.runtimes import ArtifactModel, open_model
from asnet_keras.extras import requires
from asnet_keras.inference import cropping
from asnet_keras.inference.loading import read_run_config
from asnet_keras.inference.maps import MapPipeline, output_names
from asnet_keras.inference.outputs import OutputKind, render_png
from asnet_keras.io import check_max_pixels
from asnet_keras.io.encoding import encode_image
from asnet_keras.io.released_reading import decode_released
from asnet_keras.model.options import ASNetOptions
from asnet_keras.model.weight_structure import options_from_model
from asnet_keras.serving.batcher import MicroBatcher
from asnet_keras.serving.engine import (
    DEFAULT_MAX_PIXELS, UploadError, decode_upload, map_statistics)
from asnet_keras.serving.limits import (DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
                                        LOOPBACK_HOSTS)

with requires("serve"):  # FastAPI (Starlette, pydantic) and python-multipart: the serve extra
    import python_multipart  # noqa: F401  (Starlette reads form uploads with it, lazily)
    from fastapi import FastAPI, Query, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    from asnet_keras.serving.guards import RequestGuard  # Starlette's types
    from asnet_keras.serving.schema import CropQuery, PredictQuery, validation_message  # pydantic

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
UPLOAD_FIELD = "image"
DEFAULT_MAX_BATCH = 8
DEFAULT_BATCH_WAIT_MS = 10.0
DEFAULT_MAX_UPLOAD_MB = 50
RAW_TYPES = ("image/", "application/octet-stream")
INLINE_PNG_PIXELS = 4_000_000  # /predict include_image: PNG up to this size, JPEG above
ENV_OPTIONS = "ASNET_SERVE_OPTIONS"  # JSON of create_app_from_env's arguments (workers > 1)


def _png(array):
    """A grey map as PNG bytes."""
    return encode_image(array, ".png")


def _encode_rgb(image, fmt):
    """An RGB image as "png" or "jpeg" bytes (quality `encoding.JPEG_QUALITY`)."""
    return encode_image(image, ".jpg" if fmt == "jpeg" else ".png")


def describe_model(model, weights=None):
    """The model's options as /info reports them: its `ASNetOptions` (from the training
    run's config.json when there is one, else read off its weights,
    `asnet_keras.model.weight_structure`; for an exported artefact, the options its
    export wrote into it, when its format keeps them) and a few facts of the run."""
    if isinstance(model, ArtifactModel):
        options = model.metadata.get(METADATA_KEY)
        return {"name": os.path.basename(model.path), "format": model.format,
                "outputs": output_names(model),
                "options": json.loads(options) if options else None}
    config = read_run_config(weights) if weights else {}
    if "input_size" in config:
        options = ASNetOptions.from_json(config).to_json()
    else:
        options = options_from_model(model).to_json()
    for key in ("variant", "input_size", "datasets", "epochs", "seed"):
        if key in config:
            options[f"run_{key}"] = config[key]
    return {"name": model.name, "outputs": output_names(model),
            "parameters": int(model.count_params()), "options": options}


def _runtime(model):
    """Where the forward pass runs: the Keras backend and devices, or the artefact's
    runtime (on the CPU)."""
    if isinstance(model, ArtifactModel):
        return {"backend": model.format, "precision": getattr(model, "precision", "f32"),
                "devices": ["CPU"], "device": "CPU"}
    import keras

    info = {"backend": keras.backend.backend(), "keras": keras.__version__}
    if info["backend"] == "tensorflow":
        import tensorflow as tf

        devices = [d.name for d in tf.config.list_logical_devices()]
        info.update(tensorflow=tf.__version__, devices=devices,
                    device="GPU" if any("GPU" in d for d in devices) else "CPU")
    else:
        info.update(devices=[], device="unknown")
    return info


class Service:
    """What the routes share: the prediction path (`MapPipeline`), the batcher that
    runs its forward passes, and the limits."""

    def __init__(self, model, weights=None, input_size=None, postprocess="default",
                 max_batch=DEFAULT_MAX_BATCH, batch_wait_ms=DEFAULT_BATCH_WAIT_MS,
                 max_pixels=DEFAULT_MAX_PIXELS, max_upload_bytes=DEFAULT_MAX_UPLOAD_MB << 20,
                 warm_up=True):
        if int(max_upload_bytes) < 1:
            raise ValueError("max_upload_bytes must be at least 1")
        max_pixels = check_max_pixels(max_pixels, "--max-pixels")  # docs/data_integrity.md §7
        self.pipeline = MapPipeline(model, input_size=input_size, postprocess=postprocess)
        self.batcher = MicroBatcher(self.pipeline.forward, max_batch=max_batch,
                                    max_wait_ms=batch_wait_ms)
        self.weights = None if weights is None else os.fspath(weights)
        self.max_pixels = int(max_pixels)
        self.max_upload_bytes = int(max_upload_bytes)
        self.started = time.time()
        self.model_info = describe_model(model, self.weights)
        self.runtime = _runtime(model)
        if warm_up:
            self.pipeline.warm_up((1, 2) if self.batcher.max_batch > 1 else (1,))

    # ------------------------------------------------------------------ uploads
    async def read_upload(self, request):
        """The uploaded file's bytes (module docstring says the accepted forms). The body's
        size and time limits are enforced as it streams in (`guards.RequestGuard`)."""
        length = request.headers.get("content-length")
        chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
        if length is None and not chunked:
            raise UploadError(411, "no Content-Length header; send the image as a normal "
                                   "upload (multipart/form-data, field 'image')")
        ctype = request.headers.get("content-type", "").lower()
        if ctype.startswith("multipart/form-data"):
            return await self._read_multipart(request)
        if ctype.startswith(RAW_TYPES):
            return await request.body()
        raise UploadError(400, f"unsupported Content-Type {ctype or '(none)'!r}: send "
                               "multipart/form-data with the file in the field 'image' "
                               "(curl -F image=@photo.jpg), or the raw file with Content-Type "
                               "image/jpeg, image/png or application/octet-stream")

    async def _read_multipart(self, request):
        try:
            form = await request.form(max_files=4, max_fields=16)
        except HTTPException:
            raise
        except Exception as err:
            raise UploadError(400, f"malformed multipart body ({err}); send the file in "
                                   "the field 'image'") from None
        try:
            value = form.get(UPLOAD_FIELD)
            if value is None:
                fields = ", ".join(repr(k) for k in form.keys()) or "none"
                raise UploadError(400, f"no field '{UPLOAD_FIELD}' in the upload (fields "
                                       f"received: {fields}); send the file as "
                                       f"{UPLOAD_FIELD}=@photo.jpg")
            if isinstance(value, str):
                raise UploadError(400, f"the field '{UPLOAD_FIELD}' holds text, not a file; "
                                       "upload the image file itself")
            return await value.read()
        finally:
            await form.close()

    # ------------------------------------------------------------------ maps
    async def maps_for(self, request):
        """Upload → (RGB image, dict kind → uint8 map at image size, BatchInfo)."""
        with self.batcher.arriving():  # a batch about to start waits for this request
            data = await self.read_upload(request)
            image, prepared = await run_in_threadpool(self._decode_and_prepare, data)
        raw, info = await self.batcher.submit(prepared)  # no await between: docs/serving.md §3
        maps = await run_in_threadpool(self.pipeline.finish, raw, image.shape[:2])
        return image, maps, info

    def _decode_and_prepare(self, data):
        """Upload bytes → (RGB image, network input); one thread-pool hop for both."""
        image = decode_upload(data, self.max_pixels)
        network_image = image
        if self.pipeline.postprocess == "released":
            # main.py's reading: grey stays 2-D, stretched by `prepare`
            # (docs/released_pipeline.md §2); `decode_upload` has validated the bytes
            network_image = decode_released(bytes(data), self.max_pixels)
        return image, self.pipeline.prepare(network_image)

    def check_map(self, kind):
        """`kind` (a `MAP_KINDS` name, checked by the schema) if this model gives it."""
        if kind not in self.pipeline.outputs:
            raise UploadError(422, f"map={kind!r}: this model has no fixation head; "
                                   "pass map=saliency")
        return kind


def _wants_json(request, fmt):
    """JSON or PNG: `format` (checked by the schema), else the Accept header."""
    if fmt is not None:
        return fmt == "json"
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and "image/png" not in accept


def _timing_headers(image, info):
    return {
        "X-Image-Width": str(image.shape[1]), "X-Image-Height": str(image.shape[0]),
        "X-Batch-Size": str(info.batch_size), "X-Queue-Ms": f"{info.queue_ms:.1f}",
        "X-Inference-Ms": f"{info.inference_ms:.1f}",
    }


def _batch_json(info):
    return {"size": info.batch_size, "queue_ms": round(info.queue_ms, 2),
            "inference_ms": round(info.inference_ms, 2)}


def _crop_boxes(array, aspects, scale):
    try:
        return cropping.crop_boxes(array, aspects, scale)
    except ValueError as err:
        raise UploadError(422, str(err)) from None


def create_app(model, *, weights=None, input_size=None, postprocess="default",
               max_batch=DEFAULT_MAX_BATCH, batch_wait_ms=DEFAULT_BATCH_WAIT_MS,
               max_pixels=DEFAULT_MAX_PIXELS, max_upload_bytes=DEFAULT_MAX_UPLOAD_MB << 20,
               allowed_hosts=LOOPBACK_HOSTS, body_timeout=DEFAULT_BODY_TIMEOUT,
               max_connections=DEFAULT_MAX_CONNECTIONS, warm_up=True):
    """The FastAPI application serving `model` (a loaded Keras ASNet, or an exported
    artefact opened by `asnet_keras.export.runtimes.open_artifact`).

    Args:
        model: the model, loaded once (`asnet_keras.export.runtimes.open_model`).
        weights: the path it came from (shown by /info; its run's config.json is read).
        input_size: square input side if the model has none (default 224).
        postprocess: "default" or "released" (as `predict --postprocess`).
        max_batch: most images per forward pass (1 = one at a time).
        batch_wait_ms: the longest a pass that is not full waits for requests still
            being read and decoded (none arriving: it starts at once).
        max_pixels: largest image accepted, in pixels (413 above).
        max_upload_bytes: largest upload accepted, in bytes (413 above, counted as the
            body streams in).
        allowed_hosts: the names accepted in the Host header (400 otherwise; "*": any),
            `guards.allowed_hosts()`.
        body_timeout: seconds from a request's headers to the end of its body (408 after).
        max_connections: requests served at once, each on its connection (503 beyond).
        warm_up: run the model once at batch 1 and 2 now, so no request pays for tracing.
    """
    service = Service(model, weights=weights, input_size=input_size, postprocess=postprocess,
                      max_batch=max_batch, batch_wait_ms=batch_wait_ms, max_pixels=max_pixels,
                      max_upload_bytes=max_upload_bytes, warm_up=warm_up)


    @asynccontextmanager
    async def lifespan(app):
        service.batcher.start()
        yield
        await service.batcher.stop()

    # No /docs or /redoc: FastAPI's pages load their scripts from a public CDN, blank
    # offline; the OpenAPI description is served (docs/serving.md §8).
    app = FastAPI(title="ASNet saliency service", version=asnet_keras.__version__,
                  lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Saliency and fixation maps of ASNet (CVPR 2018), and "
                              "saliency-aware crops. See docs/serving.md.")
    app.state.service = service
    app.add_middleware(RequestGuard, allowed_hosts=allowed_hosts,
                       max_body_bytes=service.max_upload_bytes, body_timeout=body_timeout,
                       max_requests=max_connections)

    @app.exception_handler(RequestValidationError)
    async def _bad_parameter(request, err):  # docs/serving.md §7
        return JSONResponse({"detail": validation_message(err.errors(), request.url.path)},
                            status_code=422)

    @app.exception_handler(UploadError)
    async def _upload_error(request, err):
        return JSONResponse({"detail": err.message}, status_code=err.status)

    @app.exception_handler(Exception)
    async def _internal_error(request, err):  # logged by uvicorn; the service goes on
        return JSONResponse({"detail": f"internal error: {type(err).__name__}: {err}"},
                            status_code=500)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(os.path.join(STATIC_DIR, "index.html"), media_type="text/html")

    @app.get("/health")
    async def health():
        """Liveness: 200 with the model loaded."""
        return {"status": "ok", "model_loaded": True,
                "uptime_s": round(time.time() - service.started, 1),
                "batches": service.batcher.stats()}

    @app.get("/info")
    async def info():
        """Model options, input size, backend, device, versions and the service limits."""
        return {
            "version": asnet_keras.__version__,
            "weights": service.weights,
            "model": service.model_info,
            "input_size": service.pipeline.input_size,
            "maps": list(service.pipeline.outputs),
            "postprocess": service.pipeline.postprocess,
            **service.runtime,
            "limits": {"max_batch": service.batcher.max_batch,
                       "batch_wait_ms": service.batcher.max_wait * 1000,
                       "max_pixels": service.max_pixels,
                       "max_upload_bytes": service.max_upload_bytes,
                       "body_timeout_s": body_timeout,
                       "max_connections": max_connections,
                       "allowed_hosts": sorted(allowed_hosts)},
            "upload_field": UPLOAD_FIELD,
        }

    @app.post("/predict")
    async def predict(request: Request, query: Annotated[PredictQuery, Query()]):
        """The maps of the uploaded image at its own size.

        PNG (default, or `Accept: image/png`, or `?format=png`): the map named by `map`
        (saliency or fixation), uint8 grey. JSON (`Accept: application/json` or
        `?format=json`): every map as base64 PNG with its statistics; with
        `?crop=16:9,1:1` also the crop boxes (`scale` as in /crop); with
        `include_image=true` also the image as the service decoded it (`image`: PNG up to
        4 megapixels, JPEG quality 95 above), which is what the maps align with (no EXIF
        rotation), for a client to draw them on. `output` other than map answers that
        output of the `map` as PNG: mask, cutout (RGBA), background (white), overlay
        (docs/outputs.md §1).
        """
        output = query.output
        as_json = _wants_json(request, query.format) and output is OutputKind.map
        if output is not OutputKind.map and query.format == "json":
            raise UploadError(422, f"output={output.value} answers a PNG: drop format=json")
        kind = service.check_map(query.map)
        aspects, scale, include_image = query.aspects, query.scale, query.include_image
        image, maps, info = await service.maps_for(request)
        if output is not OutputKind.map:
            body = await run_in_threadpool(render_png, output.value, image, maps[kind])
            return Response(body, media_type="image/png", headers={
                **_timing_headers(image, info), "X-Map": kind, "X-Output": output.value,
                "Content-Disposition": f'inline; filename="{output.value}.png"'})
        if not as_json:
            body = await run_in_threadpool(_png, maps[kind])
            return Response(body, media_type="image/png", headers={
                **_timing_headers(image, info), "X-Map": kind,
                "Content-Disposition": f'inline; filename="{kind}.png"'})

        def build():
            result = {"width": int(image.shape[1]), "height": int(image.shape[0]),
                      "maps": {k: {"png_base64": base64.b64encode(_png(a)).decode("ascii"),
                                   "stats": map_statistics(a)} for k, a in maps.items()},
                      "batch": _batch_json(info)}
            if include_image:
                fmt = "png" if image.shape[0] * image.shape[1] <= INLINE_PNG_PIXELS else "jpeg"
                result["image"] = {"format": fmt, "base64": base64.b64encode(
                    _encode_rgb(image, fmt)).decode("ascii")}
            if aspects:
                result["crop_map"] = "saliency"
                result["crops"] = [b.to_dict() for b in _crop_boxes(maps["saliency"], aspects,
                                                                    scale)]
            return result

        return JSONResponse(await run_in_threadpool(build), headers=_timing_headers(image, info))

    @app.post("/crop")
    async def crop(request: Request, query: Annotated[CropQuery, Query()]):
        """The crop of aspect ratio `aspect` that keeps the most mass of the map `map`.

        JSON (default): `crop` (x, y, width, height in image pixels, mass, mass_fraction)
        and `crops` (one per aspect of a comma list), each with `image_base64` (PNG)
        when `include_image=true`. `format=png|jpeg`: the cropped image itself (one
        aspect), its box in the `X-Crop-Box` header as x,y,width,height.
        """
        aspects, fmt, scale = query.aspects, query.format, query.scale
        kind, include_image = service.check_map(query.map), query.include_image
        if fmt != "json" and len(aspects) != 1:
            raise UploadError(422, f"format={fmt}: returns one image; pass a single aspect")
        image, maps, info = await service.maps_for(request)
        boxes = await run_in_threadpool(_crop_boxes, maps[kind], aspects, scale)
        headers = _timing_headers(image, info)
        if fmt != "json":
            box = boxes[0]
            body = await run_in_threadpool(_encode_rgb, box.crop(image), fmt)
            headers["X-Crop-Box"] = f"{box.x},{box.y},{box.width},{box.height}"
            headers["Content-Disposition"] = (f'inline; filename="crop-{aspects[0].tag}.'
                                              f'{"jpg" if fmt == "jpeg" else "png"}"')
            return Response(body, media_type=f"image/{fmt}", headers=headers)

        def build():
            crops = []
            for box in boxes:
                entry = box.to_dict()
                if include_image:
                    entry["image_base64"] = base64.b64encode(
                        _encode_rgb(box.crop(image), "png")).decode("ascii")
                crops.append(entry)
            return {"width": int(image.shape[1]), "height": int(image.shape[0]), "map": kind,
                    "scale": scale, "crop": crops[0], "crops": crops, "batch": _batch_json(info)}

        return JSONResponse(await run_in_threadpool(build), headers=headers)

    return app


def create_app_from_env():
    """App factory for `uvicorn --factory` (serve --workers N): each worker process loads
    the model itself, from the JSON options in the ASNET_SERVE_OPTIONS variable."""
    options = json.loads(os.environ[ENV_OPTIONS])
    weights = options.pop("weights")
    model = open_model(weights, options.pop("precision", "auto"))
    return create_app(model, weights=weights, **options)
