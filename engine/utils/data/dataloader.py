"""DataLoader: batches from a dataset, optionally produced by worker processes."""

from __future__ import annotations

import collections.abc
import multiprocessing as mp
import numbers
import queue
import traceback

import numpy as np

from .dataset import IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "get_worker_info"]

_worker_info = None


class WorkerInfo:
    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset


def get_worker_info():
    return _worker_info


def default_collate(batch):
    """Stack tensors / numpy arrays / numbers into tensors; recurse into dicts, tuples, lists
    (a batch of tuples becomes a list of columns); strings are left as they are — PyTorch's
    rules."""
    from ... import Tensor, stack, tensor, from_numpy, get_default_dtype, float64
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack([b.detach() for b in batch], 0)
    if isinstance(elem, np.ndarray):
        return stack([from_numpy(np.ascontiguousarray(b)) for b in batch], 0)
    if isinstance(elem, np.generic):
        return tensor(np.array(batch))
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, numbers.Integral):
        return tensor(batch)
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, (str, bytes)):
        return batch  # as PyTorch: the batch's own container (a tuple inside tuple samples)
    if isinstance(elem, collections.abc.Mapping):
        return type(elem)({k: default_collate([d[k] for d in batch]) for k in elem}) \
            if not isinstance(elem, dict) else {k: default_collate([d[k] for d in batch])
                                                for k in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        n = len(elem)
        if any(len(b) != n for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(s) for s in zip(*batch)]  # tuples collate to a list, as PyTorch
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts"
                    f" or lists; found {type(elem)}")


def _identity(x):
    return x


class DataLoader:
    """Iterate a dataset in batches (PyTorch's arguments and semantics)."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, multiprocessing_context=None, generator=None,
                 *, prefetch_factor=None, persistent_workers=False, pin_memory_device=""):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None else 2
        self.pin_memory, self.timeout = pin_memory, timeout
        self.worker_init_fn, self.generator = worker_init_fn, generator
        self.persistent_workers = persistent_workers
        self.multiprocessing_context = multiprocessing_context
        self._iterable = isinstance(dataset, IterableDataset)
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if self._iterable:
            if shuffle or sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle,"
                                 " sampler and batch_sampler options")
        elif sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else \
                SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn or (default_collate if batch_size is not None or
                                         batch_sampler is not None else _identity)
        self._pool = None

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler) if self.batch_sampler is not None else len(self.sampler)

    def _index_batches(self):
        return iter(self.batch_sampler) if self.batch_sampler is not None else (
            i for i in self.sampler)

    def _fetch(self, idx):
        if (self.batch_sampler is not None and self.collate_fn is default_collate
                and type(self.dataset) is TensorDataset):
            # one gather per tensor instead of len(idx) row views stacked one by one
            from ... import tensor
            rows = tensor(idx)
            return tuple(t[rows] for t in self.dataset.tensors)
        if self.batch_sampler is not None:
            return self.collate_fn([self.dataset[i] for i in idx])
        return self.collate_fn(self.dataset[idx])

    def __iter__(self):
        from ...autograd.grad_mode import no_grad
        if self._iterable:
            return self._iter_iterable()
        if self.num_workers == 0:
            return self._iter_single()
        return _MultiProcessIter(self)

    def _iter_single(self):
        for idx in self._index_batches():
            yield self._fetch(idx)

    def _iter_iterable(self):
        it = iter(self.dataset)
        if self.batch_size is None:
            for x in it:
                yield self.collate_fn(x)
            return
        batch = []
        for x in it:
            batch.append(x)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)


def _worker_loop(wid, loader_state, index_q, result_q, seed):
    global _worker_info
    dataset, collate_fn, batched, init_fn, nw = loader_state
    _worker_info = WorkerInfo(wid, nw, seed, dataset)
    from ... import manual_seed
    manual_seed(seed)
    try:
        if init_fn is not None:
            init_fn(wid)
    except Exception as e:  # noqa: BLE001
        result_q.put((None, wid, None, _pack_exc(e, wid, "worker_init_fn")))
        return
    while True:
        job = index_q.get()
        if job is None:
            return
        n, idx = job
        try:
            data = collate_fn([dataset[i] for i in idx]) if batched else collate_fn(dataset[idx])
            result_q.put((n, wid, data, None))
        except Exception as e:  # noqa: BLE001
            result_q.put((n, wid, None, _pack_exc(e, wid, f"index {idx}")))


def _pack_exc(e, wid, where):
    return (type(e), f"Caught {type(e).__name__} in DataLoader worker process {wid} ({where})."
            f"\nOriginal {traceback.format_exc()}", str(e))


class _MultiProcessIter:
    """Workers get index batches round-robin; results are yielded in sampler order."""

    def __init__(self, loader):
        self.loader = loader
        ctx = mp.get_context(loader.multiprocessing_context or "fork")
        nw = loader.num_workers
        self.index_qs = [ctx.Queue() for _ in range(nw)]
        self.result_q = ctx.Queue()
        base = int(loader.generator.np.integers(0, 2**62) if loader.generator else
                   np.random.default_rng().integers(0, 2**62))
        state = (loader.dataset, loader.collate_fn, loader.batch_sampler is not None,
                 loader.worker_init_fn, nw)
        self.workers = [ctx.Process(target=_worker_loop, args=(
            w, state, self.index_qs[w], self.result_q, base + w), daemon=True)
            for w in range(nw)]
        for w in self.workers:
            w.start()
        self.batches = loader._index_batches()
        self.sent = self.rcvd = 0
        self.buffer = {}
        for _ in range(nw * loader.prefetch_factor):
            self._send()

    def _send(self):
        try:
            idx = next(self.batches)
        except StopIteration:
            return
        self.index_qs[self.sent % len(self.workers)].put((self.sent, idx))
        self.sent += 1

    def __iter__(self):
        return self

    def __next__(self):
        if self.rcvd >= self.sent:
            self._shutdown()
            raise StopIteration
        while self.rcvd not in self.buffer:
            try:
                n, wid, data, err = self.result_q.get(timeout=self.loader.timeout or 5.0)
            except queue.Empty:
                dead = [w for w in self.workers if not w.is_alive()]
                if dead:
                    self._shutdown()
                    raise RuntimeError(f"DataLoader worker (pid(s) "
                                       f"{', '.join(str(w.pid) for w in dead)}) exited "
                                       "unexpectedly") from None
                if self.loader.timeout:
                    self._shutdown()
                    raise RuntimeError(f"DataLoader timed out after {self.loader.timeout} "
                                       "seconds") from None
                continue
            if err is not None:
                self._shutdown()
                etype, msg, _ = err
                try:
                    exc = etype(msg)
                except Exception:  # noqa: BLE001
                    exc = RuntimeError(msg)
                raise exc
            self.buffer[n] = data
        data = self.buffer.pop(self.rcvd)
        self.rcvd += 1
        self._send()
        return data

    def _shutdown(self):
        for q in self.index_qs:
            try:
                q.put(None)
            except Exception:  # noqa: BLE001
                pass
        for w in self.workers:
            w.join(timeout=1)
            if w.is_alive():
                w.terminate()

    def __del__(self):
        try:
            self._shutdown()
        except Exception:  # noqa: BLE001
            pass
