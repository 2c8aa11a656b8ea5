"""Inference speed and memory: ASNet against its VGG16 backbone, in every CPU runtime.

    python benchmarks/inference.py                  # 224 px, batch 1 and 10, ~10–15 min
    python benchmarks/inference.py --jit-compile on # the XLA measurement
    python benchmarks/inference.py --runtimes --backends --no-memory   # TensorFlow only

Prints one JSON line. For each batch size: the median (and the minimum) seconds per image
of the VGG16 backbone alone (preprocessing + 13 convolutions up to conv5_3, as inside
ASNet), of ASNet with `recurrence="static"` (the default graph, `asnet_*` keys) and with
`recurrence="stock"` (Keras' ConvLSTM2D), and the ratios of each ASNet to the backbone.

Timing: all three models live in this process and are timed in interleaved rounds (the
order rotating every round), after two warm-up calls each, with `predict_on_batch` on one
fixed batch — so a change in the machine's load hits all three alike and the ratios hold
even on a shared host. Weights are random (biases nonzero, as trained ones: `build`): the
cost does not depend on their values.

Runtimes (`--runtimes`, default: each of ONNX Runtime and OpenVINO that is installed):
the backbone and the `static` ASNet are exported as the export command does
(`asnet_keras.export.formats`) and run through `asnet_keras.export.runtimes`, timed in
the same interleaved rounds as the TensorFlow models, in float32 and, where the CPU has
bfloat16 instructions (AVX-512 BF16 or AMX; `--precisions`), in bfloat16: OpenVINO's
`INFERENCE_PRECISION_HINT=bf16`, and TensorFlow's Keras `mixed_bfloat16` policy
(`tf_bf16_*`). ONNX Runtime's CPU provider has no bfloat16 convolutions, so it runs in
float32 only. Where NNCF is installed, OpenVINO also runs INT8 (`openvino_int8_*`): the
exported IR quantized as `--int8` export does (`asnet_keras.export.int8.quantize`,
calibrated on `CALIBRATION_IMAGES` random images: with random weights the values do not
matter), its unquantized rest at the hint `runtimes.OpenVINOModel` picks by default
(bf16 where the CPU has it). Keys `<runtime>_<precision>_backbone` / `_asnet`; every
time is also given as a ratio to the TensorFlow float32 backbone of the same rounds
(`*_over_tf_backbone`) and ASNet's to its own runtime's backbone
(`*_asnet_over_own_backbone`). Worker threads: one per core in every runtime (ONNX
Runtime with its idle spinning off, so that it does not slow the model timed after it).

Keras backends (`--backends`, default: each of JAX and PyTorch that is installed): a
child process with `KERAS_BACKEND` set builds the backbone and the `static` ASNet under
that backend and times them with `predict_on_batch` in interleaved rounds together with
the TensorFlow float32 backbone, loaded there from a SavedModel the parent wrote
(TensorFlow's own loader, no Keras), so each backend's figures have the same reference.
A backend whose child fails is reported with its error and skipped.

Memory: for each model, a child process builds it, runs batch 1 and then batch 10 and
reports its own peak resident set size (Linux `VmHWM`) after each: the whole process
(Python, TensorFlow, the model, the activations), in MiB. Batch 1 runs first, so the
figure after it is the batch-1 peak.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

MODELS = ("backbone", "static", "stock")
RUNTIMES = ("onnx", "openvino")
BACKENDS = ("jax", "torch")
PRECISIONS = ("f32", "bf16", "int8")
CALIBRATION_IMAGES = 10  # random calibration inputs of the INT8 models
_RUNTIME_MODULES = {"onnx": ("onnxruntime", "tf2onnx", "onnx"), "openvino": ("openvino",),
                    "jax": ("jax",), "torch": ("torch",), "int8": ("openvino", "nncf")}


def quiet_tensorflow_logger():
    """Hide TensorFlow's retracing warnings: every model here is traced on purpose."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")


def build(kind, size):
    """The backbone alone, or ASNet with the given recurrence, random weights.

    Every bias is drawn nonzero, as in a trained model: OpenVINO deletes additions of
    zeros, and the exported IR gives a ConvLSTM gate whose bias is all zeros one input
    convolution per use instead of one per layer (docs/deployment.md §6.3), so freshly
    initialised zero biases would time a graph no trained model has.
    """
    import keras
    import numpy as np

    from asnet_keras.model import blocks
    from asnet_keras.model import build_asnet

    shape = (size, size, 3)
    if kind == "backbone":
        image = keras.Input(shape=shape, name="image")
        bgr = blocks.channel_preprocessing(image, blocks.CAFFE_MEANS_BGR)
        side = blocks.vgg16_backbone(bgr, shape, None)
        model = keras.Model(image, side[5], name="vgg16_backbone")
    else:
        model = build_asnet(shape, backbone_weights=None, recurrence=kind)
    rng = np.random.default_rng(0)
    for variable in model.weights:
        if variable.path.endswith("bias"):
            variable.assign(rng.uniform(-0.1, 0.1, variable.shape).astype("float32"))
    return model


def jit_setting(value, default):
    return {"on": True, "off": False, "default": default}[value]


def images(batch, size, seed=0):
    import numpy as np

    return np.random.default_rng(seed).uniform(0, 255, (batch, size, size, 3)).astype("float32")


def peak_rss_mib():
    """Peak resident set size of this process's address space, MiB.

    Linux `VmHWM`: it starts afresh at exec. (`ru_maxrss` does not: a child started from
    a parent holding models inherits the parent's peak.)
    """
    try:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def machine():
    """What the numbers were measured on."""
    import keras
    import tensorflow as tf

    from asnet_keras.devices import cpu_name

    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def time_interleaved(functions, rounds, per):
    """Median and min seconds per item of each zero-argument function, interleaved rounds."""
    names = list(functions)
    samples = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            start = time.perf_counter()
            functions[name]()
            samples[name].append((time.perf_counter() - start) / per)
    return {
        name: {"median": statistics.median(values), "min": min(values)}
        for name, values in samples.items()
    }


def child(kind, size, batches, jit):
    """Peak RSS of one model after each batch size (run in its own process)."""
    model = build(kind, size)
    model.compile(jit_compile=jit)
    peaks = {}
    for batch in batches:
        x = images(batch, size)
        for _ in range(2):
            model.predict_on_batch(x)
        peaks[str(batch)] = round(peak_rss_mib(), 1)
    print(json.dumps(peaks))


def child_peaks(script_args, kinds):
    """Run `child` for each kind in a fresh process; {kind: {batch: MiB}}."""
    peaks = {}
    for kind in kinds:
        result = subprocess.run(
            [sys.executable, os.path.abspath(sys.argv[0]), "--child", kind, *script_args],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"memory child for {kind} failed:\n{result.stderr[-3000:]}")
        peaks[kind] = json.loads(result.stdout.strip().splitlines()[-1])
    return peaks


def ratio(a, b):
    return round(a / b, 3)


def installed(name):
    """Whether every package `name` (a runtime or a backend) needs is importable."""
    import importlib.util

    return all(importlib.util.find_spec(module) for module in _RUNTIME_MODULES[name])


def cpu_has_bf16():
    """True when the CPU advertises bfloat16 arithmetic (AVX-512 BF16 or AMX-BF16)."""
    try:
        with open("/proc/cpuinfo") as file:
            flags = next((line for line in file if line.startswith("flags")), "")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def build_bf16(kind, size):
    """`build(kind, size)` under Keras' mixed_bfloat16 policy (bfloat16 compute, float32
    variables; ASNet's one-channel read-outs stay float32, docs/framework_notes.md §6)."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        return build(kind, size)
    finally:
        keras.config.set_dtype_policy(previous)


def runtime_functions(models, size, folder, runtimes, precisions):
    """{name: predict_on_batch} of the backbone and ASNet exported to each runtime.

    Returns (functions, notes): notes says what was skipped and why.
    """
    from asnet_keras.export import formats
    from asnet_keras.export.runtimes import OnnxModel, OpenVINOModel

    threads = os.cpu_count()
    functions, notes = {}, {}
    for runtime in runtimes:
        if not installed(runtime):
            notes[runtime] = "not installed"
            continue
        for kind, label in (("backbone", "backbone"), ("static", "asnet")):
            suffix = ".onnx" if runtime == "onnx" else ".xml"
            path = os.path.join(folder, f"{kind}_{size}{suffix}")
            if not os.path.isfile(path):
                started = time.perf_counter()
                writer = formats.write_onnx if runtime == "onnx" else formats.write_openvino
                writer(models[kind], path, {"input_size": size})
                notes[f"{runtime}_{kind}_export_s"] = round(time.perf_counter() - started, 1)
            for precision in precisions:
                if runtime == "onnx" and precision != "f32":
                    notes[f"onnx_{precision}"] = ("skipped: ONNX Runtime's CPU provider has "
                                                  "no bfloat16 convolution kernels; INT8 is "
                                                  "OpenVINO's here")
                    continue
                if precision == "int8":
                    model = OpenVINOModel(int8_model(path, size, notes), threads=threads,
                                          require_asnet=False)
                    notes[f"openvino_int8_{kind}_precision_hint"] = model.precision
                elif runtime == "onnx":
                    model = OnnxModel(path, threads=threads, allow_spinning=False,
                                      require_asnet=False)
                else:
                    model = OpenVINOModel(path, precision=precision, threads=threads,
                                          require_asnet=False)
                functions[f"{runtime}_{precision}_{label}"] = (
                    lambda x, m=model: m.predict_on_batch(x))
    return functions, notes


def int8_model(path, size, notes):
    """The INT8 IR of the float IR at `path` (written beside it once), as `--int8` export
    quantizes: NNCF on `CALIBRATION_IMAGES` random inputs."""
    import openvino

    from asnet_keras.export import int8

    quantized_path = path.replace(".xml", "_int8.xml")
    if not os.path.isfile(quantized_path):
        started = time.perf_counter()
        quantized, _ = int8.quantize(openvino.Core().read_model(path),
                                     images(CALIBRATION_IMAGES, size, seed=1))
        int8.save_ir(quantized, quantized_path)
        notes[os.path.basename(quantized_path) + "_quantize_s"] = round(
            time.perf_counter() - started, 1)
    return quantized_path


def backend_child(backend, size, batches, rounds, reference):
    """Run in a child with KERAS_BACKEND=backend: time its backbone and ASNet against the
    TensorFlow backbone loaded from the SavedModel `reference`; print one JSON line."""
    import keras
    import tensorflow as tf

    quiet_tensorflow_logger()
    if keras.backend.backend() != backend:
        raise SystemExit(f"KERAS_BACKEND is {keras.backend.backend()}, expected {backend}")
    signature = tf.saved_model.load(reference).signatures["serving_default"]
    backbone, asnet = build("backbone", size), build("static", size)
    result = {"keras_backend": backend, "version": _backend_version(backend)}
    for batch in batches:
        x = images(batch, size)
        tx = tf.constant(x)
        functions = {"tf_backbone": lambda: signature(image=tx),
                     f"{backend}_backbone": lambda: backbone.predict_on_batch(x),
                     f"{backend}_asnet": lambda: asnet.predict_on_batch(x)}
        for function in functions.values():
            function()
            function()
        result[f"batch_{batch}"] = time_interleaved(functions, rounds, batch)
    print(json.dumps(result))


def _backend_version(backend):
    import importlib

    return importlib.import_module(backend).__version__


def backend_results(backend, size, batches, rounds, reference):
    """Start `backend_child` in a fresh process; its timings, or {"error": ...}."""
    # OMP_WAIT_POLICY=PASSIVE: PyTorch's OpenMP workers otherwise spin after each
    # operation and take the cores from the TensorFlow reference timed next to them.
    env = dict(os.environ, KERAS_BACKEND=backend, OMP_WAIT_POLICY="PASSIVE")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    command = [sys.executable, os.path.abspath(__file__), "--backend-child", backend,
               "--size", str(size), "--rounds", str(rounds), "--reference", reference,
               "--batches", *map(str, batches)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"exit {result.returncode}: {result.stderr.strip()[-800:]}"}


def main(argv=None):
    from asnet_keras import performance

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--rounds", type=int, default=5, help="timed calls per model")
    parser.add_argument(
        "--jit-compile", choices=("default", "on", "off"), default="default",
        help="XLA for predict; 'default' is asnet_keras.performance.PREDICT_JIT_COMPILE",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory children")
    parser.add_argument("--runtimes", nargs="*", choices=RUNTIMES, default=None,
                        help="exported runtimes to time (default: those installed; none "
                        "with an empty list)")
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=None,
                        help="f32, bf16 and/or int8 (OpenVINO only) (default: f32, bf16 "
                        "where the CPU has it, int8 where NNCF is installed)")
    parser.add_argument("--backends", nargs="*", choices=BACKENDS, default=None,
                        help="other Keras backends to time in child processes (default: "
                        "those installed; none with an empty list)")
    parser.add_argument("--artifacts", metavar="DIR", default=None,
                        help="keep the exported backbone/ASNet files here and reuse them "
                        "(default: a temporary folder)")
    parser.add_argument("--child", choices=MODELS, help=argparse.SUPPRESS)
    parser.add_argument("--backend-child", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    jit = jit_setting(args.jit_compile, performance.PREDICT_JIT_COMPILE)
    common = ["--size", str(args.size), "--jit-compile", args.jit_compile,
              "--batches", *map(str, args.batches)]
    if args.child:
        child(args.child, args.size, args.batches, jit)
        return
    if args.backend_child:
        backend_child(args.backend_child, args.size, args.batches, args.rounds, args.reference)
        return

    import tempfile

    quiet_tensorflow_logger()
    bf16 = cpu_has_bf16()
    precisions = args.precisions or (["f32"] + (["bf16"] if bf16 else [])
                                     + (["int8"] if installed("int8") else []))
    runtimes = [r for r in (RUNTIMES if args.runtimes is None else args.runtimes)]
    backends = [b for b in (BACKENDS if args.backends is None else args.backends)]
    report = {"benchmark": "inference", "input_px": args.size, "jit_compile": jit,
              "rounds": args.rounds, "machine": machine()}
    report["machine"]["cpu_bf16"] = bf16
    report["machine"].update(_runtime_versions(runtimes, backends))
    temporary = tempfile.TemporaryDirectory(prefix="asnet_bench_")
    folder = args.artifacts or temporary.name
    os.makedirs(folder, exist_ok=True)

    models = {kind: build(kind, args.size) for kind in MODELS}
    for model in models.values():
        model.compile(jit_compile=jit)
    extra, notes = runtime_functions(models, args.size, folder, runtimes, precisions)
    if "bf16" in precisions:
        for kind, label in (("backbone", "backbone"), ("static", "asnet")):
            model = build_bf16(kind, args.size)
            model.compile(jit_compile=jit)
            extra[f"tf_bf16_{label}"] = lambda x, m=model: m.predict_on_batch(x)
    report["notes"] = notes
    for batch in args.batches:
        x = images(batch, args.size)
        functions = {kind: (lambda m=model: m.predict_on_batch(x)) for kind, model in models.items()}
        functions.update({name: (lambda f=f: f(x)) for name, f in extra.items()})
        for function in functions.values():
            function()
            function()
        times = time_interleaved(functions, args.rounds, batch)
        base = times["backbone"]
        report[f"batch_{batch}"] = {
            **{f"{kind}_s_per_image": round(times[kind]["median"], 4) for kind in MODELS},
            **{f"{kind}_min_s_per_image": round(times[kind]["min"], 4) for kind in MODELS},
            "static_over_backbone": ratio(times["static"]["median"], base["median"]),
            "stock_over_backbone": ratio(times["stock"]["median"], base["median"]),
            "stock_over_static": ratio(times["stock"]["median"], times["static"]["median"]),
            "static_over_backbone_min": ratio(times["static"]["min"], base["min"]),
            "stock_over_backbone_min": ratio(times["stock"]["min"], base["min"]),
            # ASNet is the default (`static`) graph (docs/model.md §1.1).
            "asnet_s_per_image": round(times["static"]["median"], 4),
            "asnet_over_backbone": ratio(times["static"]["median"], base["median"]),
            **_runtime_rows(times, extra, base),
        }
    report["machine"]["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    if backends:
        reference = os.path.join(folder, f"tf_backbone_{args.size}_savedmodel")
        if not os.path.isdir(reference):
            from asnet_keras.export import formats

            formats.write_saved_model(models["backbone"], reference)
        for backend in backends:
            if not installed(backend):
                report[backend] = {"skipped": "not installed"}
                continue
            report[backend] = _backend_rows(
                backend, backend_results(backend, args.size, args.batches, args.rounds,
                                         reference), args.batches)
        report["machine"]["load_average_1min_after_backends"] = round(os.getloadavg()[0], 2)
    if not args.no_memory:
        del models, extra
        peaks = child_peaks(common, MODELS)
        for batch in args.batches:
            report[f"batch_{batch}"]["peak_rss_mib"] = {k: peaks[k][str(batch)] for k in MODELS}
        report["peak_rss_method"] = (
            "VmHWM (peak RSS) of one child process per model, after batch 1 then batch 10"
        )
    temporary.cleanup()
    print(json.dumps(report))


def _runtime_rows(times, extra, base):
    """Seconds per image and ratios of every exported-runtime / bf16 function."""
    rows = {}
    for name in extra:
        rows[f"{name}_s_per_image"] = round(times[name]["median"], 4)
        rows[f"{name}_over_tf_backbone"] = ratio(times[name]["median"], base["median"])
        if name.endswith("_asnet"):
            own = name[: -len("asnet")] + "backbone"
            if own in times:
                rows[f"{name}_over_own_backbone"] = ratio(times[name]["median"],
                                                          times[own]["median"])
    return rows


def _backend_rows(backend, result, batches):
    if "error" in result:
        return result
    rows = {"version": result["version"]}
    for batch in batches:
        times = result[f"batch_{batch}"]
        base = times["tf_backbone"]["median"]
        rows[f"batch_{batch}"] = {
            "tf_backbone_s_per_image": round(base, 4),
            **{f"{name}_s_per_image": round(times[name]["median"], 4)
               for name in (f"{backend}_backbone", f"{backend}_asnet")},
            f"{backend}_backbone_over_tf_backbone": ratio(
                times[f"{backend}_backbone"]["median"], base),
            f"{backend}_asnet_over_tf_backbone": ratio(times[f"{backend}_asnet"]["median"], base),
            f"{backend}_asnet_over_own_backbone": ratio(
                times[f"{backend}_asnet"]["median"], times[f"{backend}_backbone"]["median"]),
        }
    return rows


def _runtime_versions(runtimes, backends):
    import importlib

    versions = {}
    for name, module in (("onnx", "onnxruntime"), ("openvino", "openvino"), ("jax", "jax"),
                         ("torch", "torch")):
        if name in list(runtimes) + list(backends) and installed(name):
            versions[module] = importlib.import_module(module).__version__
    if "openvino" in runtimes and installed("int8"):
        versions["nncf"] = importlib.import_module("nncf").__version__
    return versions


if __name__ == "__main__":
    main()
