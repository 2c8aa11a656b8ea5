"""The bounded overlap of reading, the model and writing (`asnet_keras.inference.overlap`,
docs/outputs.md §5): results in order, errors carried with their item, memory bounded by
the queue depth, reader threads stopped when the caller stops."""

import threading
import time

import pytest

from asnet_keras.inference import overlap


def test_ordered_map_keeps_order_and_carries_errors():
    def work(i):
        time.sleep(0.002 * (i % 3))  # later items often finish first
        if i == 4:
            raise OSError("item 4 is unreadable")
        return i * i

    results = list(overlap.ordered_map(work, range(10), workers=3, depth=4))
    assert [item for item, _, _ in results] == list(range(10))
    assert [r for i, r, _ in results if i != 4] == [i * i for i in range(10) if i != 4]
    assert isinstance(results[4][2], OSError) and results[4][1] is None


def test_ordered_map_reads_at_most_depth_ahead_and_stops_with_the_caller():
    pulled = []
    closed = threading.Event()

    def items():
        try:
            for i in range(1000):
                pulled.append(i)
                yield i
        finally:
            closed.set()

    stream = overlap.ordered_map(lambda i: i, items(), workers=2, depth=5)
    assert next(stream)[0] == 0
    time.sleep(0.3)  # the feeder fills the queue, then waits
    # handed out: 1; queued: 5; one more submitted by the feeder, waiting for room
    assert len(pulled) <= 1 + 5 + 1
    stream.close()
    assert closed.wait(2)  # the generator was closed: a video capture would be released
    assert len(pulled) <= 1 + 5 + 1


def test_an_error_while_iterating_the_items_is_raised_in_the_caller():
    def items():
        yield 1
        raise RuntimeError("the folder vanished")

    stream = overlap.ordered_map(lambda i: i, items(), workers=1, depth=2)
    assert next(stream) == (1, 1, None)
    with pytest.raises(RuntimeError, match="vanished"):
        next(stream)


def test_ordered_pool_returns_in_submission_order_and_bounds_pending_jobs():
    running = []
    peak = [0]
    lock = threading.Lock()

    def job(i):
        with lock:
            running.append(i)
        time.sleep(0.01 * ((7 - i) % 4))
        with lock:
            peak[0] = max(peak[0], len(running))
            running.remove(i)
        if i == 3:
            raise ValueError("cannot write 3")
        return -i

    collected = []
    with overlap.OrderedPool(workers=2, depth=3) as pool:
        for i in range(8):
            collected += pool.submit(f"job{i}", job, i)
            assert len(pool._pending) <= 3
        collected += pool.finished(wait=True)
    assert [tag for tag, _, _ in collected] == [f"job{i}" for i in range(8)]
    assert [r for tag, r, e in collected if e is None] == [-i for i in range(8) if i != 3]
    assert isinstance(collected[3][2], ValueError)
    assert peak[0] <= 2  # two workers


@pytest.mark.parametrize("value", [0, -1, 1.5, True, 10_000])
def test_bad_thread_counts_are_refused(value):
    with pytest.raises(ValueError, match="workers"):
        overlap.OrderedPool(value, 2)
    with pytest.raises(ValueError, match="workers"):
        overlap.ordered_map(len, [], value, 2)


class _TinyModel:
    """8 × 8 input; the maps are the input's first channel / 255 (no TensorFlow)."""

    inputs = [type("Input", (), {"shape": (None, 8, 8, 3)})()]
    output_names = ["fixation", "saliency_conv1"]

    def __init__(self):
        self.passes = []

    def predict_on_batch(self, batch):
        self.passes.append(len(batch))
        return [batch[:, :2, :2, :1] / 255, batch[..., :1] / 255]


def test_map_pipeline_stream_with_readers_equals_the_plain_stream():
    import numpy as np

    from asnet_keras.inference.maps import MapPipeline

    rng = np.random.default_rng(2)
    images = {k: rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for k in "abcdefg"}

    def read(item):
        if item == "bad":
            raise OSError("bad: cannot read this image")
        return images[item]

    items = ["a", "b", "bad", "c", "d", "e", "f", "g"]
    runs = {}
    for readers in (0, 3):
        model = _TinyModel()
        runs[readers] = (list(MapPipeline(model).stream(items, read=read, batch_size=2,
                                                        readers=readers)), model.passes)
    (plain, passes), (threaded, threaded_passes) = runs[0], runs[3]
    assert [r[0] for r in threaded] == items and threaded_passes == passes == [2, 2, 2, 1]
    assert isinstance(threaded[2][1], OSError) and threaded[2][2] is None
    for (_, _, want), (_, _, got) in zip(plain, threaded, strict=True):
        if want is not None:
            for key in want:
                np.testing.assert_array_equal(got[key], want[key])
    assert threaded[0][2]["saliency"].tolist() == images["a"][..., 0].tolist()
