"""Load test of the saliency service: batching against one image at a time, or the
TensorFlow model against an exported artefact (docs/serving.md §5).

    python benchmarks/serve_load.py                       # 224 px; 4 and 16 clients
    python benchmarks/serve_load.py --input-size 64       # a small model, on a small machine
    python benchmarks/serve_load.py --clients 1,4,8,16 --plot results/serve_load.png
    python benchmarks/serve_load.py --compare runtime     # TensorFlow f32 vs OpenVINO bf16

Starts `asnet serve` twice on the loopback address and sends each the
same closed-loop load at each concurrency level of --clients: C clients together post
--requests JPEGs per round to POST /predict, each client one request after the other on a
keep-alive connection (4 clients × 50 images at the default 200). The two servers are
measured in alternating rounds, so a change in the machine's load hits both alike.

--compare batching (default): one model, `--max-batch 1` against the batched setting
(default 8). --compare runtime: both batched, the Keras model (TensorFlow float32)
against --artifact, the same network exported (default: exported here to OpenVINO, run
in bfloat16, `--precision`). The model has random weights (`backbone_weights=None`)
unless --weights is given: the cost does not depend on the weights.

Prints one JSON line: per level and setting the requests, errors, seconds, throughput
(requests/s, and per round), latency p50/p99/mean (ms), the mean batch size the server
reported (X-Batch-Size) and the forward pass's time per image (X-Inference-Ms divided by
the batch size, median); per level the speedup (the second setting's throughput over
the first's); the machine (cores, load average before, after and after each round).
--plot also draws throughput and latency per level.

Traffic goes only to 127.0.0.1 (there is no option to change it). The run is bounded:
--requests per level, setting and round, and --time-limit seconds per round, after which
the clients stop. Exit status: 0 if no request failed and the second setting won at
every level (batching: faster at every level of 2 or more clients; runtime: at least
--target times as fast, default 1.6), 1 otherwise, 2 usage error.
"""

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
HOST = "127.0.0.1"  # loopback only, by design


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def make_images(count, width, height, seed=0):
    """`count` different JPEG files (bytes): a gradient with a bright ellipse, noise."""
    import cv2

    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    images = []
    for _ in range(count):
        base = np.stack([xs / width, ys / height, np.full((height, width), 0.5)], -1) * 180
        cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
        rx, ry = rng.uniform(0.08, 0.25) * width, rng.uniform(0.08, 0.25) * height
        base[((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 < 1] = rng.uniform(150, 255, 3)
        base += rng.normal(0, 8, base.shape)
        ok, buf = cv2.imencode(".jpg", np.clip(base, 0, 255).astype(np.uint8))
        images.append(buf.tobytes())
    return images


def multipart(data):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"load.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Server:
    """`asnet serve` in a child process on a free loopback port.

    Args:
        name: the setting's key in the results (also names its log file).
        weights: what `serve --weights` loads (a Keras model or an exported artefact).
        options: further `serve` arguments (`--max-batch 8`, `--precision bf16`, …).
    """

    def __init__(self, name, weights, options, log_dir):
        self.name = name
        self.port = free_port()
        self.log_path = os.path.join(log_dir, f"serve-{name}.log")
        self._log = open(self.log_path, "w")
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "asnet_keras", "serve", "--weights", weights, "--host", HOST,
             "--port", str(self.port), "--log-level", "warning", *options],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited ({self.process.returncode}); "
                                   f"see {self.log_path}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server not ready after {timeout} s; see {self.log_path}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()


def one_round(port, images, plan, time_limit):
    """len(plan) concurrent clients, client i posting plan[i] requests one after the other;
    returns per-request records and wall time."""
    records = []  # (latency_s, ok, batch_size, forward pass ms of its batch)
    lock = threading.Lock()
    clients = len(plan)
    start_gate = threading.Barrier(clients + 1)
    deadline = [None]

    def client(index):
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        start_gate.wait()
        offset = sum(plan[:index])
        for i in range(plan[index]):
            if time.monotonic() > deadline[0]:
                break
            body, ctype = multipart(images[(offset + i) % len(images)])
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/predict", body=body, headers={"Content-Type": ctype})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                batch = int(response.getheader("X-Batch-Size", "0") or 0)
                forward = float(response.getheader("X-Inference-Ms", "0") or 0)
            except (OSError, http.client.HTTPException):
                ok, batch, forward = False, 0, 0.0
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=120)
            with lock:
                records.append((time.perf_counter() - t0, ok, batch, forward))
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + time_limit
    t0 = time.perf_counter()
    start_gate.wait()
    for thread in threads:
        thread.join(timeout=time_limit + 130)
    return records, time.perf_counter() - t0


def summarise(records, seconds, planned):
    latencies = np.array([r[0] for r in records if r[1]]) * 1000
    ok = int(sum(r[1] for r in records))
    batches = [r[2] for r in records if r[1]]
    per_image = [r[3] / r[2] for r in records if r[1] and r[2]]
    return {
        "requests": len(records), "planned": planned, "ok": ok,
        "errors": len(records) - ok + (planned - len(records)),
        "seconds": round(seconds, 2),
        "throughput_rps": round(ok / seconds, 3) if seconds else None,
        "latency_ms": {"p50": round(float(np.percentile(latencies, 50)), 1),
                       "p99": round(float(np.percentile(latencies, 99)), 1),
                       "mean": round(float(latencies.mean()), 1)} if ok else None,
        "mean_batch_size": round(float(np.mean(batches)), 2) if batches else None,
        # the forward pass alone, per image (X-Inference-Ms / X-Batch-Size), median
        "forward_ms_per_image": round(float(np.median(per_image)), 1) if per_image else None,
    }


def parse_levels(text):
    """"4,16" → [4, 16]: concurrency levels, each ≥ 1, ascending, no repeats."""
    try:
        levels = sorted({int(v) for v in str(text).split(",") if v.strip()})
    except ValueError:
        raise ValueError(f"--clients {text!r}: write client counts separated by commas, "
                         "e.g. 4,16") from None
    if not levels or levels[0] < 1:
        raise ValueError(f"--clients {text!r}: each level must be 1 or more clients")
    return levels


def split_requests(requests, clients):
    """How many requests each of `clients` sends so that together they send `requests`
    (the first ones send one more when it does not divide)."""
    base, extra = divmod(int(requests), int(clients))
    return [base + (1 if i < extra else 0) for i in range(int(clients))]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python benchmarks/serve_load.py",
        description="Throughput and latency of the saliency service under concurrent load "
                    "(127.0.0.1 only): batched (--max-batch) against one image at a time "
                    "(--compare batching), or TensorFlow float32 against an exported "
                    "artefact in its own runtime (--compare runtime).")
    parser.add_argument("--compare", choices=("batching", "runtime"), default="batching",
                        help="batching: --max-batch 1 against --max-batch N, one model; "
                        "runtime: the Keras model (TensorFlow float32) against --artifact, "
                        "both batched (default batching)")
    parser.add_argument("--input-size", type=int, default=224,
                        help="model input side of the random-weight model (default 224)")
    parser.add_argument("--weights", default=None,
                        help="serve this Keras model instead of a random-weight one")
    parser.add_argument("--artifact", default=None,
                        help="--compare runtime: the exported artefact (.xml, .onnx, …) of "
                        "the same model; default: the model exported to OpenVINO here")
    parser.add_argument("--precision", choices=("f32", "bf16"), default="bf16",
                        help="--compare runtime: the OpenVINO artefact's precision "
                        "(default bf16)")
    parser.add_argument("--target", type=float, default=1.6,
                        help="--compare runtime: the throughput ratio the artefact must "
                        "reach at every level for exit status 0 (default 1.6)")
    parser.add_argument("--clients", default="4,16",
                        help="concurrency levels: concurrent clients, comma-separated "
                        "(default 4,16)")
    parser.add_argument("--requests", type=int, default=200,
                        help="requests per level, setting and round, shared by the clients "
                        "(default 200: 4 clients × 50)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternating rounds per level and setting (default 2)")
    parser.add_argument("--max-batch", type=int, default=8,
                        help="the batched setting (compared with 1 under --compare "
                        "batching; both runtimes' under --compare runtime) (default 8)")
    parser.add_argument("--batch-wait-ms", type=float, default=10.0,
                        help="the service's --batch-wait-ms (default 10, the service's)")
    parser.add_argument("--image-size", default="320x240",
                        help="WIDTHxHEIGHT of the uploaded JPEGs (default 320x240)")
    parser.add_argument("--time-limit", type=float, default=600.0,
                        help="seconds per round and setting before clients stop (default 600)")
    parser.add_argument("--out", default=None, help="also write the JSON result to this file")
    parser.add_argument("--plot", default=None,
                        help="draw throughput and latency per level into this PNG")
    return parser


def settings(args, weights, artifact):
    """The two servers compared, in order: (key, label, serve --weights, serve options);
    the speedup is the second's throughput over the first's."""
    batched = ["--max-batch", str(args.max_batch), "--batch-wait-ms", str(args.batch_wait_ms)]
    if args.compare == "batching":
        return [("max_batch_1", "one at a time (--max-batch 1)", weights,
                 ["--max-batch", "1", "--batch-wait-ms", str(args.batch_wait_ms)]),
                (f"max_batch_{args.max_batch}", f"batched (--max-batch {args.max_batch})",
                 weights, batched)]
    from asnet_keras.export.contract import artifact_format

    fmt = artifact_format(artifact)
    precision = args.precision if fmt == "openvino" else "f32"
    return [("tensorflow_f32", "TensorFlow float32 (.keras)", weights, batched),
            (f"{fmt}_{precision}", f"{fmt} {precision}", artifact,
             [*batched, "--precision", precision])]


def plot(result, path):
    """Throughput (bars) and p50/p99 latency (lines) per level, both settings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = [entry["clients"] for entry in result["levels"]]
    names = list(result["settings"].items())
    fig, (ax_rate, ax_latency) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.38
    for k, (key, label) in enumerate(names):
        rates = [entry[key]["throughput_rps"] or 0 for entry in result["levels"]]
        xs = [i + (k - 0.5) * width for i in range(len(levels))]
        ax_rate.bar(xs, rates, width, label=label)
        for x, rate in zip(xs, rates):
            ax_rate.annotate(f"{rate:.2f}", (x, rate), ha="center", va="bottom", fontsize=8)
        for q, style in (("p50", "-o"), ("p99", "--^")):
            lat = [(entry[key]["latency_ms"] or {}).get(q, float("nan"))
                   for entry in result["levels"]]
            ax_latency.plot(levels, lat, style, color=f"C{k}", label=f"{label}, {q}")
    ax_rate.set_xticks(range(len(levels)), [
        f"{entry['clients']} clients\n{entry['speedup']:.2f}×" if entry["speedup"]
        else f"{entry['clients']} clients" for entry in result["levels"]])
    ax_rate.set_ylabel("requests per second")
    ax_rate.set_title("throughput")
    top = max((entry[key]["throughput_rps"] or 0) for entry in result["levels"] for key, _ in names)
    ax_rate.set_ylim(0, 1.3 * top if top else 1)
    ax_rate.legend(fontsize=8, loc="upper left")
    ax_latency.set_xlabel("concurrent clients")
    ax_latency.set_ylabel("latency (ms)")
    ax_latency.set_xticks(levels)
    ax_latency.set_title("latency")
    ax_latency.legend(fontsize=7)
    fig.suptitle(f"ASNet service, {result['input_size']} px model, {result['image_size']} "
                 f"JPEGs, {result['machine']['cpu_count']} cores", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _random_model(input_size, workdir):
    """A random-weight ASNet (`backbone_weights=None`) saved as .keras in `workdir`."""
    import keras

    from asnet_keras.model import build_asnet

    keras.utils.set_random_seed(0)
    path = os.path.join(workdir, f"asnet_{input_size}.keras")
    build_asnet((input_size, input_size, 3), backbone_weights=None).save(path)
    return path


def _exported(weights, workdir):
    """`weights` exported to OpenVINO (checked against Keras) in `workdir`."""
    from asnet_keras.export.api import export

    out = os.path.join(workdir, "asnet.xml")
    report = export(weights, out)
    print(f"exported {out}: largest difference from Keras {report['max_abs_difference']:.2g}",
          file=sys.stderr, flush=True)
    return out


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        width, height = (int(v) for v in args.image_size.lower().split("x"))
        levels = parse_levels(args.clients)
    except ValueError as err:
        message = str(err) if "--clients" in str(err) else (
            f"--image-size {args.image_size!r}: write WIDTHxHEIGHT, e.g. 320x240")
        print(f"error: {message}", file=sys.stderr)
        return 2
    if min(args.requests, args.rounds, width, height) < 1 or args.max_batch < 2:
        print("error: requests, rounds and image sizes must be ≥ 1, --max-batch ≥ 2",
              file=sys.stderr)
        return 2
    if args.requests < levels[-1]:
        print(f"error: --requests {args.requests} is fewer than {levels[-1]} clients: each "
              "client must send at least one", file=sys.stderr)
        return 2
    if args.artifact is not None and (args.compare != "runtime"
                                      or not os.path.exists(args.artifact)):
        print(f"error: --artifact {args.artifact}: pass an existing artefact, with "
              "--compare runtime", file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix="asnet-serve-load-")
    weights = args.weights or _random_model(args.input_size, workdir)
    artifact = args.artifact
    if args.compare == "runtime" and artifact is None:
        artifact = _exported(weights, workdir)
    compared = settings(args, weights, artifact)
    images = make_images(16, width, height)
    load_before = os.getloadavg()
    servers = {key: Server(key, path, options, workdir) for key, _, path, options in compared}
    results = {(c, key): [] for c in levels for key in servers}
    round_loads = []
    try:
        for server in servers.values():
            server.wait_ready(timeout=600)
        for server in servers.values():  # warm-up: a few concurrent requests each
            one_round(server.port, images, [2] * min(4, levels[-1]), args.time_limit)
        order = list(servers)
        for clients in levels:
            plan = split_requests(args.requests, clients)
            for round_index in range(args.rounds):
                for key in (order if round_index % 2 == 0 else order[::-1]):
                    records, seconds = one_round(servers[key].port, images, plan,
                                                 args.time_limit)
                    results[(clients, key)].append((records, seconds))
                    round_loads.append(round(os.getloadavg()[0], 2))
                    print(f"{clients} clients, round {round_index + 1}, {key}: "
                          f"{sum(r[1] for r in records)}/{len(records)} ok in {seconds:.1f} s "
                          f"(load {round_loads[-1]})", file=sys.stderr, flush=True)
    finally:
        for server in servers.values():
            server.stop()
    load_after = os.getloadavg()
    planned = args.requests * args.rounds
    first, second = order
    needed = 1.0 if args.compare == "batching" else args.target
    entries, errors, all_won = [], 0, True
    for clients in levels:
        entry = {"clients": clients}
        for key in servers:
            rounds = results[(clients, key)]
            records = [r for recs, _ in rounds for r in recs]
            entry[key] = {
                **summarise(records, sum(s for _, s in rounds), planned),
                "rounds": [summarise(recs, s, args.requests)["throughput_rps"]
                           for recs, s in rounds],
            }
            errors += entry[key]["errors"]
        rate_first, rate_second = (entry[k]["throughput_rps"] for k in (first, second))
        speedup = rate_second / rate_first if rate_first and rate_second else None
        entry["speedup"] = round(speedup, 3) if speedup else None
        counts = clients >= 2 or args.compare == "runtime"  # one client cannot batch
        if counts and not (speedup and (speedup > needed if args.compare == "batching"
                                        else speedup >= needed)):
            all_won = False
        entries.append(entry)
    result = {
        "benchmark": "serve_load", "compare": args.compare, "host": HOST,
        "input_size": args.input_size,
        "weights": args.weights or "random (backbone_weights=None)",
        "artifact": artifact, "settings": {key: label for key, label, _, _ in compared},
        "image_size": f"{width}x{height}", "requests_per_round": args.requests,
        "rounds": args.rounds, "max_batch": args.max_batch,
        "batch_wait_ms": args.batch_wait_ms, "levels": entries,
        "errors_total": errors, "target_speedup": needed,
        "won_at_every_level": all_won,
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_before": [round(v, 2) for v in load_before],
                    "loadavg_after": [round(v, 2) for v in load_after],
                    "loadavg_1min_after_each_round": round_loads},
    }
    line = json.dumps(result)
    print(line)
    if args.out:
        with open(args.out, "w") as f:
            f.write(line + "\n")
    if args.plot:
        plot(result, args.plot)
        print(f"plot: {args.plot}", file=sys.stderr)
    return 0 if errors == 0 and all_won else 1


if __name__ == "__main__":
    sys.exit(main())
