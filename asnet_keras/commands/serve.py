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

--weights takes a Keras model or an exported artefact (.onnx, .xml with --precision
bf16 for the fastest CPU path, .tflite, SavedModel folder). Requests arriving together
share a forward pass (up to --max-batch images; a pass that is not full waits at most
--batch-wait-ms for requests still being read and decoded). Bad uploads and parameters
get a 4xx answer that says what is wrong; Host names other than this machine's
(--allow-host adds some), bodies over --max-upload-mb or slower than --body-timeout,
headers slower than --header-timeout and requests beyond --max-connections are refused;
the service keeps running. Details: docs/serving.md.

Exit status: 0 after a clean shutdown (Ctrl-C; on SIGTERM uvicorn shuts down the same
way, then lets the signal end the process), 1 the server could not start (port in use?
a server package missing?), 2 usage error or a model that cannot be loaded.
"""

import argparse
import json
import os

from asnet_keras.commands import CommandFailed, UsageError, number, positive, run_command
from asnet_keras.export.contract import EXPORT_COMMAND, artifact_format
from asnet_keras.export.runtimes import PRECISIONS, check_precision, open_model
from asnet_keras.extras import requires
from asnet_keras.inference.loading import resolve_model_path
from asnet_keras.inference.maps import POSTPROCESS
from asnet_keras.serving import limits
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
            "  asnet serve --weights asnet.xml --precision bf16   (OpenVINO, bfloat16)\n"
            "  asnet serve --weights runs/asnet --host 0.0.0.0 --allow-host myhost.lan\n"
            "Exit status: 0 clean shutdown, 1 the server could not start, 2 usage error or "
            "unloadable model. See docs/serving.md."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--weights", required=True, metavar="RUN|FILE",
                        help="trained model: run folder, .keras, .h5 or .weights.h5; or an "
                        "exported artefact run in its own runtime: .onnx (ONNX Runtime), "
                        ".xml (OpenVINO; with --precision bf16 the fastest on CPUs with "
                        "AVX-512 BF16 or AMX), .tflite (LiteRT) or a SavedModel folder, "
                        f"written by {EXPORT_COMMAND}")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="OpenVINO artefacts (.xml) only: 'bf16' computes in bfloat16 "
                        "(maps within about 1e-3 of float32); 'auto' (default): float32 "
                        "for a float IR, bf16 for the unquantized rest of an INT8 IR where "
                        "the CPU supports it (docs/deployment.md §6)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; "
                        "0.0.0.0 opens it to the network, and then the names clients use "
                        "for this machine must be allowed with --allow-host)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a name the service answers to in the Host header, besides "
                        f"{', '.join(limits.LOOPBACK_HOSTS)} (any port); repeat it for "
                        "more, e.g. "
                        "--allow-host myhost.lan --allow-host 192.168.1.20; '*' accepts any "
                        "name, which lets web pages on other sites reach the service "
                        "through DNS rebinding. Other names get 400")
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
                        help="largest upload accepted, in MiB (default 50); a body without "
                        "Content-Length is counted as it arrives and refused with 413 as "
                        "soon as it is over")
    parser.add_argument("--header-timeout", type=positive(float),
                        default=limits.DEFAULT_HEADER_TIMEOUT,
                        help="seconds a connection may take to send a request's headers, "
                        "from its opening or the previous answer; then it is closed "
                        f"(default {limits.DEFAULT_HEADER_TIMEOUT:g})")
    parser.add_argument("--body-timeout", type=positive(float),
                        default=limits.DEFAULT_BODY_TIMEOUT,
                        help="seconds from a request's headers to the end of its body; then "
                        f"408 (default {limits.DEFAULT_BODY_TIMEOUT:g})")
    parser.add_argument("--keep-alive-timeout", type=positive(float),
                        default=limits.DEFAULT_KEEP_ALIVE_TIMEOUT,
                        help="seconds an idle connection stays open after an answer "
                        f"(default {limits.DEFAULT_KEEP_ALIVE_TIMEOUT:g})")
    parser.add_argument("--max-connections", type=positive(int),
                        default=limits.DEFAULT_MAX_CONNECTIONS,
                        help="requests served at once, each on its connection; one more gets "
                        "503 at once (connections idle or still sending headers do not count: "
                        "the timeouts close them) (default "
                        f"{limits.DEFAULT_MAX_CONNECTIONS})")
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
        "allowed_hosts": list(limits.allowed_hosts(args.allow_host)),
        "body_timeout": args.body_timeout,
        "max_connections": args.max_connections,
    }


def server_options(args):
    """The `uvicorn.run` keyword arguments the command line asks for (connections and
    their timeouts, `asnet_keras.serving.connections`)."""
    from asnet_keras.serving import connections  # uvicorn: the serve extra, checked by `run`

    return {"host": args.host, "port": args.port, "log_level": args.log_level,
            **connections.server_options(header_timeout=args.header_timeout,
                                         keep_alive_timeout=args.keep_alive_timeout)}


def _check_weights(path, precision):
    """Refuse a wrong --weights before worker processes start (each loads it)."""
    if artifact_format(path) is None:
        resolve_model_path(path)
    elif not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or folder.")
    check_precision(path, precision)


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
                model = open_model(args.weights, args.precision)
                app = serving_app.create_app(model, weights=args.weights, **options)
            except OSError as err:  # an unreadable model file: as a bad --weights
                raise UsageError(str(err)) from err
            service = app.state.service
            print(f"Serving {service.model_info['name']} ({service.pipeline.input_size} px "
                  f"input, {service.runtime['backend']}) on {url} (page at /, API "
                  "description at /openapi.json); Ctrl-C stops it.", flush=True)
            uvicorn.run(app, **server_options(args))
        else:
            _check_weights(args.weights, args.precision)  # each worker loads it: refuse first
            os.environ[serving_app.ENV_OPTIONS] = json.dumps(
                {"weights": os.path.abspath(args.weights), "precision": args.precision,
                 **options})
            print(f"Serving {args.weights} with {args.workers} worker processes on {url} "
                  "(each loads the model); Ctrl-C stops it.", flush=True)
            uvicorn.run("asnet_keras.serving.app:create_app_from_env", factory=True,
                        workers=args.workers, **server_options(args))
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
