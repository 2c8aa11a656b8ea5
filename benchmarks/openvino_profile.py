"""Where OpenVINO spends ASNet's time, per operation, before and after the export's rewrites.

    python benchmarks/openvino_profile.py              # 224 px, batch 1, ~5 min
    python benchmarks/openvino_profile.py --batches 1 10 --rounds 9

Prints one JSON line. The `static` ASNet (random weights) is written as an OpenVINO IR
twice: as `ov.convert_model` gives it (`converted`) and as the export writes it, after
`asnet_keras.export.openvino_graph.optimise_for_cpu` (`exported`: one convolution per
gate, upsampling as `Interpolate`; docs/deployment.md §6). Each is run in bfloat16
(`bf16`) and quantized to INT8 as `--int8` export does (`int8`: NNCF,
`asnet_keras.export.int8.quantize`, on random calibration inputs; the rest at the bf16
hint where the CPU has it), so four models, timed in interleaved rounds with OpenVINO's
per-operation performance counters on (`PERF_COUNT`).

For each model and batch size: the median and minimum milliseconds per image of the
whole call; the milliseconds per image the counters give per (operation type, kernel)
— the kernel name says the precision it ran at (`..._bf16`, `..._I8`/`..._i8`) and
whether it is a reference kernel (`ref_...`); the slowest operations; and how many
convolutions ran in INT8 and how many in bfloat16. The counters are measured inside a
call on a busy machine and add up to more or less than the call's time; compare them
within one run.
"""

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import inference  # noqa: E402 - shared helpers: build, images, time_interleaved, machine

TOP = 12  # slowest operations listed per model


def write_models(size, folder):
    """{name: IR path} of the four models (module docstring)."""
    from asnet_keras.export import formats

    model = inference.build("static", size)
    paths = {}
    for graph, optimise in (("converted", False), ("exported", True)):
        path = os.path.join(folder, f"{graph}.xml")
        formats.write_openvino(model, path, {"input_size": size}, optimise=optimise)
        paths[f"{graph}_bf16"] = path
        paths[f"{graph}_int8"] = inference.int8_model(path, size, {})  # {graph}_int8.xml
    return paths


def counters(request, totals):
    """Add each executed operation's time (ms) to totals[(type, kernel, name)]."""
    for info in request.profiling_info:
        if info.status == info.Status.EXECUTED:
            key = (info.node_type, info.exec_type, info.node_name)
            totals[key] += info.real_time.total_seconds() * 1000


def summary(totals, calls, batch):
    """Per (type, kernel) and slowest operations, ms per image; how many convolution
    nodes ran at each precision."""
    scale = 1.0 / (calls * batch)
    by_kind = collections.Counter()
    convolutions = collections.Counter()
    for (kind, kernel, _), ms in totals.items():
        by_kind[f"{kind} {kernel}"] += ms * scale
        if kind == "Convolution":
            precision = "int8" if kernel.lower().endswith("_i8") else kernel.rsplit("_", 1)[-1]
            convolutions[precision] += 1
    slowest = sorted(totals.items(), key=lambda item: -item[1])[:TOP]
    return {"counters_sum_ms": round(sum(by_kind.values()), 2),
            "ms_by_operation": {k: round(v, 2) for k, v in by_kind.most_common()},
            "slowest": [{"op": f"{kind} {kernel}", "name": name, "ms": round(ms * scale, 2)}
                        for (kind, kernel, name), ms in slowest],
            "convolutions": dict(convolutions)}


def profile(paths, size, batch, rounds):
    import openvino

    core = openvino.Core()
    hint = "bf16" if "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES") else "f32"
    requests = {name: core.compile_model(path, "CPU", {
        "INFERENCE_PRECISION_HINT": hint, "PERF_COUNT": True,
        "INFERENCE_NUM_THREADS": os.cpu_count()}).create_infer_request()
        for name, path in paths.items()}
    x = inference.images(batch, size)
    totals = {name: collections.Counter() for name in requests}
    times = {name: [] for name in requests}
    names = list(requests)
    for request in requests.values():
        request.infer({0: x})
        request.infer({0: x})
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            started = time.perf_counter()
            requests[name].infer({0: x})
            times[name].append((time.perf_counter() - started) * 1000 / batch)
            counters(requests[name], totals[name])
    return {name: {"ms_per_image": round(statistics.median(times[name]), 2),
                   "min_ms_per_image": round(min(times[name]), 2),
                   "precision_hint": hint, **summary(totals[name], rounds, batch)}
            for name in names}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--batches", type=int, nargs="+", default=[1])
    parser.add_argument("--rounds", type=int, default=7, help="timed calls per model")
    args = parser.parse_args(argv)
    inference.quiet_tensorflow_logger()
    report = {"benchmark": "openvino_profile", "input_px": args.size, "rounds": args.rounds,
              "machine": inference.machine()}
    with tempfile.TemporaryDirectory(prefix="asnet_ov_profile_") as folder:
        paths = write_models(args.size, folder)
        for batch in args.batches:
            report[f"batch_{batch}"] = profile(paths, args.size, batch, args.rounds)
    report["machine"]["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
