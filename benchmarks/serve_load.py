"""Load test of the saliency service: batching (default --max-batch) against one at a time.

    python benchmarks/serve_load.py                       # 224 px, 4 clients × 50 images
    python benchmarks/serve_load.py --input-size 64       # a small model, on a small machine

Starts `python -m asnet_keras.serve` twice on the loopback address, once with
`--max-batch 1` and once with the batched setting (default 8), both on the same model
(random weights, `backbone_weights=None`, unless --weights is given: the cost does not
depend on the weights), then sends each of them the same load: C concurrent clients,
each posting N images to POST /predict one after the other (keep-alive connections).
The two servers are measured in alternating rounds, so a change in the machine's load
hits both alike. Prints one JSON line: per setting the requests, errors, seconds,
throughput (requests/s), latency p50/p99/mean (ms), the mean batch size the server
reported (X-Batch-Size) and the forward pass's time per image (X-Inference-Ms divided by
the batch size, median); the speedup of batching; the machine (cores, load average).

Traffic goes only to 127.0.0.1 (there is no option to change it). The run is bounded:
C × N requests per setting and round, and --time-limit seconds per round, after which
the clients stop. Exit status: 0 if no request failed and batching beat one at a time,
1 otherwise, 2 usage error.
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
    """`python -m asnet_keras.serve` in a child process on a free loopback port."""

    def __init__(self, weights, max_batch, batch_wait_ms, log_dir):
        self.port = free_port()
        self.max_batch = max_batch
        self.log_path = os.path.join(log_dir, f"serve-max-batch-{max_batch}.log")
        self._log = open(self.log_path, "w")
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "asnet_keras.serve", "--weights", weights, "--host", HOST,
             "--port", str(self.port), "--max-batch", str(max_batch),
             "--batch-wait-ms", str(batch_wait_ms), "--log-level", "warning"],
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


def one_round(port, images, clients, per_client, time_limit):
    """C clients × N sequential POST /predict; returns per-request records and wall time."""
    records = []  # (latency_s, ok, batch_size, forward pass ms of its batch)
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    deadline = [None]

    def client(index):
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        start_gate.wait()
        for i in range(per_client):
            if time.monotonic() > deadline[0]:
                break
            body, ctype = multipart(images[(index * per_client + i) % len(images)])
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


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python benchmarks/serve_load.py",
        description="Throughput and latency of the saliency service under concurrent load, "
                    "batched (--max-batch) against one image at a time (127.0.0.1 only).")
    parser.add_argument("--input-size", type=int, default=224,
                        help="model input side of the random-weight model (default 224)")
    parser.add_argument("--weights", default=None,
                        help="serve this model instead of a random-weight one")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--per-client", type=int, default=50,
                        help="images each client sends per round (default 50)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="alternating rounds per setting (default 4)")
    parser.add_argument("--max-batch", type=int, default=8,
                        help="the batched setting, compared with 1 (default 8)")
    parser.add_argument("--batch-wait-ms", type=float, default=5.0,
                        help="the service's batching window (default 5)")
    parser.add_argument("--image-size", default="320x240",
                        help="WIDTHxHEIGHT of the uploaded JPEGs (default 320x240)")
    parser.add_argument("--time-limit", type=float, default=600.0,
                        help="seconds per round and setting before clients stop (default 600)")
    parser.add_argument("--out", default=None, help="also write the JSON result to this file")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        width, height = (int(v) for v in args.image_size.lower().split("x"))
    except ValueError:
        print(f"error: --image-size {args.image_size!r}: write WIDTHxHEIGHT, e.g. 320x240",
              file=sys.stderr)
        return 2
    if min(args.clients, args.per_client, args.rounds, width, height) < 1 or args.max_batch < 2:
        print("error: clients, per-client, rounds and image sizes must be ≥ 1, --max-batch ≥ 2",
              file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix="asnet-serve-load-")
    weights = args.weights
    if weights is None:
        import keras

        from asnet_keras.model import build_asnet

        keras.utils.set_random_seed(0)
        weights = os.path.join(workdir, f"asnet_{args.input_size}.keras")
        build_asnet((args.input_size, args.input_size, 3), backbone_weights=None).save(weights)
    images = make_images(16, width, height)
    load_before = os.getloadavg()
    servers = {b: Server(weights, b, args.batch_wait_ms, workdir) for b in (1, args.max_batch)}
    results = {b: [] for b in servers}
    try:
        for server in servers.values():
            server.wait_ready(timeout=600)
        for server in servers.values():  # warm-up: a few concurrent requests each
            one_round(server.port, images, args.clients, 2, args.time_limit)
        order = list(servers)
        for round_index in range(args.rounds):
            for b in (order if round_index % 2 == 0 else order[::-1]):
                records, seconds = one_round(servers[b].port, images, args.clients,
                                             args.per_client, args.time_limit)
                results[b].append((records, seconds))
                print(f"round {round_index + 1}, max_batch {b}: "
                      f"{sum(r[1] for r in records)}/{len(records)} ok in {seconds:.1f} s",
                      file=sys.stderr, flush=True)
    finally:
        for server in servers.values():
            server.stop()
    load_after = os.getloadavg()
    planned = args.clients * args.per_client
    summary = {}
    for b, rounds in results.items():
        records = [r for recs, _ in rounds for r in recs]
        summary[f"max_batch_{b}"] = {
            **summarise(records, sum(s for _, s in rounds), planned * len(rounds)),
            "rounds": [summarise(recs, s, planned)["throughput_rps"] for recs, s in rounds],
        }
    one, batched = summary["max_batch_1"], summary[f"max_batch_{args.max_batch}"]
    speedup = (batched["throughput_rps"] / one["throughput_rps"]
               if one["throughput_rps"] and batched["throughput_rps"] else None)
    result = {
        "benchmark": "serve_load", "host": HOST, "input_size": args.input_size,
        "weights": args.weights or "random (backbone_weights=None)",
        "image_size": f"{width}x{height}", "clients": args.clients,
        "per_client": args.per_client, "rounds": args.rounds,
        "batch_wait_ms": args.batch_wait_ms, **summary,
        "speedup_batched_vs_one": round(speedup, 3) if speedup else None,
        "errors_total": one["errors"] + batched["errors"],
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_before": [round(v, 2) for v in load_before],
                    "loadavg_after": [round(v, 2) for v in load_after]},
    }
    line = json.dumps(result)
    print(line)
    if args.out:
        with open(args.out, "w") as f:
            f.write(line + "\n")
    return 0 if result["errors_total"] == 0 and speedup and speedup > 1 else 1


if __name__ == "__main__":
    sys.exit(main())
