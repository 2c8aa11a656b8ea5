"""`predict` over a big folder against the model's own speed, with memory at start and end.

    python benchmarks/predict_folder.py                        # 2,000 JPEGs, 224 px model
    python benchmarks/predict_folder.py --input-size 128       # a faster model (say which)
    python benchmarks/predict_folder.py --count 200 --read-threads 0   # no overlap

1. Generates (or reuses, under --folder) --count JPEGs of mixed sizes, width and height
   drawn independently from 320–2000 and 240–1500 px: a gradient, a bright ellipse and
   noise each, quality 90.
2. Builds ASNet at --input-size with random weights (`backbone_weights=None`; the cost does
   not depend on the weights) unless --weights is given, and warms it up.
3. In --rounds alternating rounds, so that a change in the machine's load hits both
   alike: the model's own images/s (`MapPipeline.forward` on batches of --batch-size
   images decoded and resized beforehand, in memory, for --model-seconds), then
   `predict_files` (the library of `asnet predict`) over the next slice
   of the folder: --read-threads decoding and resizing, the model, --write-threads
   upsampling, encoding and writing (docs/outputs.md §5), --output (default the grey
   maps). Every image is predicted once; the process is the same throughout.

Prints one JSON line: the machine (cores, load average at start and end), per round the
model's and predict's images/s, then the model's images/s (time-weighted over its
rounds), predict's (all images over all predict time), their ratio and the median of the
rounds' ratios; the process's CPU time per image (all threads) of the model alone and of
predict, and their ratio, which a change in the machine's load moves much less than the
images/s; and the process's resident memory (RSS) after warm-up, at the first
round's start and the last round's end, the highest sampled, and the samples at each
tenth of the run. Exit status: 0 if predict ran at ≥ --target (default 0.85) of the
model's images/s and every image was written, 1 otherwise.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

MARKER = "generated.json"


def rss_bytes():
    """This process's resident memory now (Linux /proc), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def generate(folder, count, seed=0):
    """`count` JPEGs of mixed sizes in `folder` (kept when a previous run made the same)."""
    import cv2

    settings = {"count": count, "seed": seed, "sizes": "w 320-2000, h 240-1500", "v": 1}
    marker = os.path.join(folder, MARKER)
    if os.path.isfile(marker):
        with open(marker) as f:
            if json.load(f) == settings:
                return sorted(os.path.join(folder, n) for n in os.listdir(folder)
                              if n.endswith(".jpg"))
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = []
    for i in range(count):
        width, height = int(rng.integers(320, 2001)), int(rng.integers(240, 1501))
        xs = np.linspace(0, 180, width, dtype=np.float32)[None, :]
        ys = np.linspace(0, 180, height, dtype=np.float32)[:, None]
        image = np.empty((height, width, 3), np.uint8)
        image[..., 0] = xs
        image[..., 1] = ys
        image[..., 2] = 90
        centre = (int(rng.uniform(0.2, 0.8) * width), int(rng.uniform(0.2, 0.8) * height))
        axes = (int(rng.uniform(0.08, 0.25) * width), int(rng.uniform(0.08, 0.25) * height))
        cv2.ellipse(image, centre, axes, 0, 0, 360, [int(v) for v in rng.integers(150, 256, 3)],
                    -1)
        noise = rng.integers(0, 16, (height, width, 1), dtype=np.uint8)
        image = cv2.add(image, np.repeat(noise, 3, axis=2))
        path = os.path.join(folder, f"photo{i:05d}.jpg")
        cv2.imwrite(path, image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        files.append(path)
    with open(marker, "w") as f:
        json.dump(settings, f)
    return files


def model_speed(pipeline, prepared, seconds):
    """(images, seconds, CPU seconds of the process) of `pipeline.forward` on the prepared
    batches, repeated for at least `seconds`."""
    start, cpu, images = time.perf_counter(), time.process_time(), 0
    while True:
        for batch in prepared:
            pipeline.forward(batch)
            images += len(batch)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return images, elapsed, time.process_time() - cpu


class RssSampler:
    """RSS sampled every `interval` seconds on a thread: `peak`, and `deciles()`."""

    def __init__(self, interval=0.5):
        self.interval, self.peak = interval, rss_bytes()
        self.samples = [(time.perf_counter(), self.peak)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            self.samples.append((time.perf_counter(), rss_bytes()))
            self.peak = max(self.peak, self.samples[-1][1])

    def deciles(self):
        """RSS (MiB) at 0 %, 10 %, …, 100 % of the sampled time."""
        start, end = self.samples[0][0], self.samples[-1][0]
        times = np.array([t for t, _ in self.samples])
        return [round(self.samples[int(np.argmin(np.abs(times - (start + f * (end - start)))))][1]
                      / 2**20, 1) for f in np.linspace(0, 1, 11)]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="images in the folder")
    parser.add_argument("--input-size", type=int, default=224,
                        help="model input side (224: the paper's)")
    parser.add_argument("--weights", default=None, help="a trained model instead of random "
                        "weights (its own input size is used)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--read-threads", type=int, default=2,
                        help="0: read in the model's thread (no overlap)")
    parser.add_argument("--write-threads", type=int, default=2)
    parser.add_argument("--output", default="map", help="predict --output (default map)")
    parser.add_argument("--rounds", type=int, default=10,
                        help="alternating rounds of the model alone and predict over a "
                        "slice of the folder")
    parser.add_argument("--model-seconds", type=float, default=15.0,
                        help="how long the model's own speed is measured in each round")
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(),
                                                         "asnet_predict_folder"),
                        help="where the images are generated (reused when they match)")
    parser.add_argument("--target", type=float, default=0.85,
                        help="the ratio predict must reach (exit status 1 below)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if (args.count < args.rounds * args.batch_size or args.rounds < 1 or args.input_size < 32
            or args.model_seconds <= 0):
        print("error: --count must be ≥ --rounds × --batch-size, --rounds ≥ 1, --input-size ≥ "
              "32, --model-seconds > 0", file=sys.stderr)
        return 2
    import keras

    from asnet_keras.inference import prediction
    from asnet_keras.inference.loading import load_asnet
    from asnet_keras.model import build_asnet

    load_start = os.getloadavg()
    files = generate(args.folder, args.count)
    if args.weights:
        model = load_asnet(args.weights)
    else:
        keras.utils.set_random_seed(0)
        model = build_asnet((args.input_size, args.input_size, 3), backbone_weights=None)
    pipeline = prediction.map_pipeline(model, args.output.split(","))
    pipeline.warm_up((1, 2, args.batch_size))
    prepared = [[pipeline.prepare(pipeline.read(f)) for f in files[i:i + args.batch_size]]
                for i in range(0, 4 * args.batch_size, args.batch_size)]
    rss_warm = rss_bytes()
    slices = np.array_split(np.arange(len(files)), args.rounds)
    rounds, written, failed = [], 0, 0
    model_images = model_seconds = predict_seconds = model_cpu = predict_cpu = 0.0
    out = tempfile.mkdtemp(prefix="asnet_predict_out_")
    try:
        rss_start = rss_bytes()
        with RssSampler() as sampler:
            for part in slices:
                images, seconds, cpu = model_speed(pipeline, prepared, args.model_seconds)
                model_images, model_seconds = model_images + images, model_seconds + seconds
                model_cpu += cpu
                start, cpu = time.perf_counter(), time.process_time()
                report = prediction.predict_files(
                    model, [files[i] for i in part], out, batch_size=args.batch_size,
                    progress=False, outputs=args.output, readers=args.read_threads,
                    writers=args.write_threads)
                elapsed = time.perf_counter() - start
                predict_seconds += elapsed
                predict_cpu += time.process_time() - cpu
                written, failed = written + len(report.written), failed + len(report.failures)
                rounds.append({"model": round(images / seconds, 3),
                               "predict": round(len(report.written) / elapsed, 3),
                               "ratio": round(len(report.written) / elapsed
                                              / (images / seconds), 3)})
        rss_end = rss_bytes()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    model_ips = model_images / model_seconds
    predict_ips = written / predict_seconds
    result = {
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                    "load_average_start": [round(v, 2) for v in load_start],
                    "load_average_end": [round(v, 2) for v in os.getloadavg()]},
        "settings": {"images": len(files), "input_size": pipeline.input_size,
                     "batch_size": args.batch_size, "read_threads": args.read_threads,
                     "write_threads": args.write_threads, "output": args.output,
                     "rounds": args.rounds, "model_seconds": args.model_seconds,
                     "weights": args.weights or "random"},
        "rounds": rounds,
        "model_images_per_s": round(model_ips, 3),
        "predict": {"images_per_s": round(predict_ips, 3), "seconds": round(predict_seconds, 1),
                    "written": written, "failed": failed},
        "ratio": round(predict_ips / model_ips, 3),
        "median_round_ratio": float(np.median([r["ratio"] for r in rounds])),
        "cpu_ms_per_image": {"model": round(1000 * model_cpu / model_images, 1),
                             "predict": round(1000 * predict_cpu / max(written, 1), 1)},
        "cpu_ratio": round((model_cpu / model_images) / (predict_cpu / max(written, 1)), 3),
        "rss_mib": {"after_warm_up": round(rss_warm / 2**20, 1),
                    "start": round(rss_start / 2**20, 1), "end": round(rss_end / 2**20, 1),
                    "peak": round(sampler.peak / 2**20, 1), "deciles": sampler.deciles()},
    }
    print(json.dumps(result))
    ok = result["ratio"] >= args.target and not failed
    print(f"predict {predict_ips:.2f} img/s, model {model_ips:.2f} img/s: ratio "
          f"{result['ratio']:.3f} (median of {args.rounds} rounds "
          f"{result['median_round_ratio']:.3f}; target {args.target}); CPU per image: "
          f"model {result['cpu_ms_per_image']['model']} ms, predict "
          f"{result['cpu_ms_per_image']['predict']} ms (ratio {result['cpu_ratio']}); RSS "
          f"{result['rss_mib']['start']} → {result['rss_mib']['end']} MiB (peak "
          f"{result['rss_mib']['peak']}); load {load_start[0]:.2f} → {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
