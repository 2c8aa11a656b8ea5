"""Bounded overlap of reading, the model and writing: threads with queues that cannot grow.

docs/outputs.md §5. `predict` over a big folder is three kinds of work: decoding and
resizing (reader threads), the forward pass (the caller's thread, one batch at a time),
upsampling, rendering, encoding and writing (writer threads). OpenCV, numpy and
TensorFlow release the GIL in their heavy calls, so the three overlap. Each hand-over is
bounded, so memory does not grow with the number of images:

- `ordered_map(func, items, workers, depth)`: one feeder thread iterates `items` (a list,
  or a generator such as a video's frames, which must be read in order) and hands each
  to `workers` threads running `func`; results come back in the items' order, at most
  `depth` finished or running results waiting for the caller.
- `OrderedPool(workers, depth)`: jobs submitted by the caller run on `workers` threads;
  `submit` waits for the oldest job once `depth` are pending; results come back in
  submission order (`finished`). With one worker, jobs also run in order (a video
  writer).

An exception raised by `func` or a job is handed back with its item, never lost; an
exception raised while iterating `items` is raised in the caller.

Example:
    >>> for item, result, error in ordered_map(load, paths, workers=2, depth=16):
    ...     ...
    >>> pool = OrderedPool(workers=2, depth=8)
    >>> for tag, result, error in pool.submit(name, write, name, array): ...
    >>> for tag, result, error in pool.finished(wait=True): ...
"""

import collections
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from asnet_keras.parameters import check_int

_END = object()
_POLL_S = 0.1  # how often a blocked feeder checks that the caller has gone away
MAX_WORKERS = 64
MAX_DEPTH = 4096


class _FeedError:
    """An exception raised while iterating the items, carried to the caller."""

    def __init__(self, error):
        self.error = error


def ordered_map(func, items, workers, depth):
    """`(item, func(item), None)` or `(item, None, exception)` for each item, in order.

    Args:
        func: item → result, run on `workers` threads.
        items: any iterable; iterated by one feeder thread, so a generator that must be
            read in order (video frames) is.
        workers: threads running `func` (≥ 1).
        depth: results handed out ahead of the caller (≥ 1): the memory bound.
    """
    workers = check_int("workers", workers, 1, MAX_WORKERS)
    depth = check_int("depth", depth, 1, MAX_DEPTH)
    return _ordered_map(func, items, workers, depth)


def _ordered_map(func, items, workers, depth):
    pool = ThreadPoolExecutor(workers, thread_name_prefix="asnet-read")
    handed = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry):
        while not stop.is_set():
            try:
                handed.put(entry, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def feed():
        iterator = iter(items)
        try:
            for item in iterator:
                if not put((item, pool.submit(func, item))) or stop.is_set():
                    return  # the caller has stopped: no further item is pulled
        except BaseException as error:  # carried to the caller, raised there
            put(_FeedError(error))
        finally:
            if hasattr(iterator, "close"):
                iterator.close()  # a generator's clean-up (a video capture released)
            put(_END)

    feeder = threading.Thread(target=feed, name="asnet-feed", daemon=True)
    feeder.start()
    try:
        while True:
            entry = handed.get()
            if entry is _END:
                break
            if isinstance(entry, _FeedError):
                raise entry.error
            item, future = entry
            try:
                result = future.result()
            except Exception as error:  # the caller reports it with its item
                yield item, None, error
                continue
            yield item, result, None
    finally:
        stop.set()
        while feeder.is_alive():
            try:
                entry = handed.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if isinstance(entry, tuple):
                entry[1].cancel()
        feeder.join()
        pool.shutdown(wait=True, cancel_futures=True)


class OrderedPool:
    """Jobs on worker threads, at most `depth` pending, results in submission order.

    Args:
        workers: threads (1 runs the jobs one after the other, in order).
        depth: pending jobs (queued, running or finished but not yet collected) at most.
    """

    def __init__(self, workers, depth):
        self.workers = check_int("workers", workers, 1, MAX_WORKERS)
        self.depth = check_int("depth", depth, 1, MAX_DEPTH)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="asnet-write")
        self._pending = collections.deque()

    def submit(self, tag, fn, *args):
        """Queue `fn(*args)`; returns the list of `(tag, result, error)` of the oldest jobs
        that have finished (waiting for the oldest while `depth` are pending)."""
        done = []
        while len(self._pending) >= self.depth:
            done.append(self._collect(self._pending.popleft()))
        self._pending.append((tag, self._pool.submit(fn, *args)))
        return done + self.finished()

    def finished(self, wait=False):
        """`(tag, result, error)` of the oldest finished jobs, in order; with `wait`, of
        every pending job."""
        done = []
        while self._pending and (wait or self._pending[0][1].done()):
            done.append(self._collect(self._pending.popleft()))
        return done

    @staticmethod
    def _collect(entry):
        tag, future = entry
        try:
            return tag, future.result(), None
        except Exception as error:
            return tag, None, error

    def close(self, cancel=False):
        """Stop the threads: after the pending jobs, or dropping the queued ones."""
        if cancel:
            for _, future in self._pending:
                future.cancel()
            self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=cancel)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        self.close(cancel=kind is not None)
