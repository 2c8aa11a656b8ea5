"""`asnet serve`: a trained ASNet over HTTP, with a page to try it.

    asnet serve --weights runs/asnet          # http://127.0.0.1:8000/
    make serve WEIGHTS=runs/asnet

The model is loaded once; then:

    GET  /                       the page: drop an image, see its maps, overlay and crop
    POST /predict                image upload (field "image") → saliency map PNG at the
                                 image's size; ?map=fixation, or ?format=json for both
                                 maps (base64 PNG) and their statistics
    POST /crop?aspect=16:9       → the crop box keeping the most saliency mass
                                 (?format=png|jpeg: the cropped image itself)
    GET  /health, GET /info      liveness; model options, input size, backend, device

Requests arriving together share a forward pass (up to --max-batch images; a pass that is
not full waits at most --batch-wait-ms for requests still being read and decoded). Bad
uploads get a 4xx answer that says what is wrong; the service keeps running. Details:
docs/serving.md.

Exit status: 0 after a clean shutdown (Ctrl-C; on SIGTERM uvicorn shuts down the same
way, then lets the signal end the process), 1 the server could not start (port in use?
a server package missing?), 2 usage error or a model that cannot be loaded.
"""

import argparse
import json
import os

from asnet_keras.commands import CommandFailed, UsageError, number, positive, run_command
from asnet_keras.extras import requires
from asnet_keras.inference.loading import load_asnet, resolve_model_path
from asnet_keras.inference.maps import POSTPROCESS
from asnet_keras.serving.engine import DEFAULT_MAX_PIXELS

DEFAULT_PORT = 8000


_port = number(int, 0, 65535, noun="a port number")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="asnet serve",
        description=(
            "Serve a trained ASNet over HTTP: POST /predict (saliency and fixation maps of "
            "an uploaded image, at its size), POST /crop?aspect=16:9 (saliency-aware crop), "
            "GET /health, GET /info, and a page at / to try it in a browser."
        ),
        epilog=(
            "Examples:\n"
            "  asnet serve --weights runs/asnet\n"
            "  curl -F image=@photo.jpg http://127.0.0.1:8000/predict -o saliency.png\n"
            "  curl -F image=@photo.jpg 'http://127.0.0.1:8000/predict?map=fixation' "
            "-o fixation.png\n"
            "  curl -F image=@photo.jpg 'http://127.0.0.1:8000/crop?aspect=16:9'\n"
            "Exit status: 0 clean shutdown, 1 the server could not start, 2 usage error or "
            "unloadable model. See docs/serving.md."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--weights", required=True, metavar="RUN|FILE",
                        help="trained model: run folder, .keras, .h5 or .weights.h5")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; "
                        "0.0.0.0 opens it to the network)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"TCP port (default {DEFAULT_PORT})")
    parser.add_argument("--workers", type=positive(int), default=1,
                        help="server processes, each with its own copy of the model "
                        "(default 1; more only helps with more cores than one process uses)")
    parser.add_argument("--max-batch", type=positive(int), default=8,
                        help="most images per forward pass; 1 = one at a time (default 8)")
    parser.add_argument("--batch-wait-ms", type=number(float, 0.0), default=10.0,
                        help="the longest a forward pass that is not full waits for "
                        "requests still being uploaded and decoded, in milliseconds; with "
                        "none on the way it starts at once (default 10)")
    parser.add_argument("--max-pixels", type=positive(int), default=DEFAULT_MAX_PIXELS,
                        help=f"largest image accepted, width × height (default "
                        f"{DEFAULT_MAX_PIXELS:,}); larger uploads get 413")
    parser.add_argument("--max-upload-mb", type=positive(float), default=50.0,
                        help="largest upload accepted, in MiB (default 50)")
    parser.add_argument("--input-size", type=positive(int), default=None,
                        help="model input side if the saved model has none (default 224)")
    parser.add_argument("--postprocess", choices=POSTPROCESS, default="default",
                        help="'released': the authors' main.py resizing and min-max stretch, "
                        "for a model converted from their ASNet.h5 (as predict)")
    parser.add_argument("--log-level", default="info",
                        choices=("critical", "error", "warning", "info", "debug"),
                        help="server log level (default info)")
    return parser


def app_options(args):
    """The `create_app` keyword arguments the command line asks for."""
    return {
        "input_size": args.input_size,
        "postprocess": args.postprocess,
        "max_batch": args.max_batch,
        "batch_wait_ms": args.batch_wait_ms,
        "max_pixels": args.max_pixels,
        "max_upload_bytes": int(args.max_upload_mb * (1 << 20)),
    }


def run(args):
    """Load the model and serve it until Ctrl-C (or SIGTERM)."""
    with requires("serve"):  # FastAPI and uvicorn: the serve extra, imported when used
        import uvicorn

    from asnet_keras.serving import app as serving_app  # FastAPI's app: only when serving

    options = app_options(args)
    url = f"http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}/"
    try:
        if args.workers == 1:
            try:
                model = load_asnet(args.weights)
                app = serving_app.create_app(model, weights=args.weights, **options)
            except OSError as err:  # an unreadable model file: as a bad --weights
                raise UsageError(str(err)) from err
            print(f"Serving {model.name} ({app.state.service.pipeline.input_size} px input) on "
                  f"{url} (page at /, API docs at /docs); Ctrl-C stops it.", flush=True)
            uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
        else:
            resolve_model_path(args.weights)  # each worker loads it: refuse a wrong path first
            os.environ[serving_app.ENV_OPTIONS] = json.dumps(
                {"weights": os.path.abspath(args.weights), **options})
            print(f"Serving {args.weights} with {args.workers} worker processes on {url} "
                  "(each loads the model); Ctrl-C stops it.", flush=True)
            uvicorn.run("asnet_keras.serving.app:create_app_from_env", factory=True,
                        host=args.host, port=args.port, workers=args.workers,
                        log_level=args.log_level)
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown
        return 0
    except SystemExit as stop:  # uvicorn exits when it cannot bind or start
        if stop.code not in (None, 0):
            raise CommandFailed(f"the server could not start on {url} (is the port in use? "
                                "try --port)") from None
    return 0


def main(argv=None):
    """`asnet serve`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run)
