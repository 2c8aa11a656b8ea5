"""Micro-batching: requests that arrive together share one forward pass.

`MicroBatcher.submit(x)` puts `x` in a queue and waits for its result. One worker task
takes the first waiting item and every item queued behind it, up to `max_batch`, and
hands the batch to `run_batch` (a plain function: list of inputs → list of outputs, same
order) in a dedicated thread, so the event loop keeps accepting and decoding uploads
meanwhile. While one batch runs, new arrivals queue up and form the next batch: under
load the batches fill by themselves.

Waiting for company is kept for requests known to be on their way: a caller wraps the
reading, decoding and resizing of an upload in `with batcher.arriving():`, and the worker
waits for those (never longer than `max_wait_ms` after the first item of the batch)
before it starts a pass that is not full. With nobody arriving it starts at once, so a
lone request never waits and the model never idles for requests that may not come
(`docs/serving.md §3`).

An exception in `run_batch` fails the requests of that batch only (each one receives
it); the worker goes on with the next batch (`docs/serving.md §3`).
"""

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import threading
import time


@dataclasses.dataclass
class BatchInfo:
    """How one request was served: the size of its batch and where its time went."""

    batch_size: int
    queue_ms: float  # from submit to the start of its forward pass
    inference_ms: float  # the forward pass of the whole batch


@dataclasses.dataclass
class _Pending:
    item: object
    future: asyncio.Future
    submitted: float


class MicroBatcher:
    """Collect concurrent `submit` calls into batches of at most `max_batch` items.

    Args:
        run_batch: list of inputs → list of outputs, same length and order. Runs in a
            single dedicated thread, so it is never called twice at once.
        max_batch: largest batch (1 = one at a time).
        max_wait_ms: the longest the first item of a batch waits for requests that
            are `arriving()` (being read, decoded, resized) to join it.

    The worker starts on the first `submit` (or `start()`) in the running event loop;
    if it is later used from another loop (a test client restarted), it starts afresh
    there.
    """

    def __init__(self, run_batch, max_batch=8, max_wait_ms=5.0):
        if int(max_batch) < 1:
            raise ValueError(f"max_batch={max_batch}: pass 1 or more")
        if float(max_wait_ms) < 0:
            raise ValueError(f"max_wait_ms={max_wait_ms}: pass 0 or more")
        self.run_batch = run_batch
        self.max_batch = int(max_batch)
        self.max_wait = float(max_wait_ms) / 1000.0
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="asnet-model")
        self._lock = threading.Lock()
        self._loop = None
        self._queue = None
        self._task = None
        self.batches = 0  # forward passes run
        self.items = 0  # items served in them
        self.largest = 0  # largest batch so far
        self._arriving = 0  # requests inside `arriving()`: on their way to `submit`

    def stats(self):
        """Counters since start (batches, items, mean and largest batch size) and now
        (queued: waiting for a pass; arriving: being read and decoded)."""
        return {
            "batches": self.batches,
            "items": self.items,
            "mean_batch_size": round(self.items / self.batches, 3) if self.batches else None,
            "largest_batch": self.largest,
            "queued": self._queue.qsize() if self._queue is not None else 0,
            "arriving": self._arriving,
        }

    @contextlib.contextmanager
    def arriving(self):
        """Announce a request being prepared for `submit` (use it in the event loop's thread).

        While any request is inside this block, a batch that is not full waits for it (at
        most `max_wait_ms` from its first item). Call `submit` right after the block, with
        no `await` in between, so the worker never sees the request neither arriving nor
        queued.
        """
        self._arriving += 1
        try:
            yield
        finally:
            self._arriving -= 1

    def start(self):
        """Start the worker in the running loop (idempotent)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._loop is loop and self._task is not None and not self._task.done():
                return
            self._loop = loop
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._work(self._queue), name="asnet-batcher")

    async def stop(self):
        """Cancel the worker (pending requests get CancelledError)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    def close(self):
        """Stop the model thread (after `stop`); the batcher cannot be used afterwards."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, item):
        """Queue `item`; return `(output, BatchInfo)` once its batch has run.

        Raises whatever `run_batch` raised for that batch.
        """
        self.start()
        loop = asyncio.get_running_loop()
        pending = _Pending(item, loop.create_future(), time.perf_counter())
        await self._queue.put(pending)
        return await pending.future

    async def _next(self, queue, timeout):
        """The next queued item within `timeout` seconds, or None (never loses an item)."""
        try:
            return queue.get_nowait()
        except asyncio.QueueEmpty:
            pass
        if timeout <= 0:
            return None
        getter = asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait({getter}, timeout=timeout)
        if getter.done() and not getter.cancelled():
            return getter.result()
        getter.cancel()  # the item, if any, stays in the queue (Queue.get removes it last)
        return None

    async def _collect(self, queue, first):
        """`first` and the items queued behind it, plus those still arriving (module
        docstring), up to `max_batch`."""
        loop = asyncio.get_running_loop()
        batch = [first]
        deadline = loop.time() + self.max_wait
        while len(batch) < self.max_batch:
            pending = await self._next(queue, 0)
            if pending is None:
                remaining = deadline - loop.time()
                if self._arriving == 0 or remaining <= 0:
                    break
                # short slices: an arriving request that is refused (4xx) never comes
                pending = await self._next(queue, min(remaining, 0.001))
                if pending is None:
                    continue
            batch.append(pending)
        return batch

    async def _work(self, queue):
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect(queue, await queue.get())
            batch = [p for p in batch if not p.future.done()]  # a caller that gave up
            if not batch:
                continue
            started = time.perf_counter()
            try:
                outputs = await loop.run_in_executor(
                    self._executor, self.run_batch, [p.item for p in batch])
                if len(outputs) != len(batch):
                    raise RuntimeError(f"run_batch returned {len(outputs)} outputs for "
                                       f"{len(batch)} inputs")
            except asyncio.CancelledError:
                for p in batch:
                    if not p.future.done():
                        p.future.cancel()
                raise
            except Exception as err:  # this batch fails, the service goes on
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(err)
                continue
            finished = time.perf_counter()
            self.batches += 1
            self.items += len(batch)
            self.largest = max(self.largest, len(batch))
            for p, output in zip(batch, outputs):
                if not p.future.done():
                    info = BatchInfo(len(batch), 1000 * (started - p.submitted),
                                     1000 * (finished - started))
                    p.future.set_result((output, info))
