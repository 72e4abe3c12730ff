"""Builds a PyDataset's batches ahead of use, in order, in worker threads or processes."""

import collections
import concurrent.futures
import itertools
import multiprocessing

_dataset = None  # a worker process's copy of the dataset (see _install)


def _install(dataset):
    global _dataset
    _dataset = dataset


def _get_installed(index):
    return _dataset[index]


def prefetched(dataset, indices, workers, max_queue_size, use_multiprocessing):
    """`dataset[i]` for each `i` in `indices`, in order, with up to `max_queue_size` batches
    being built at once by `workers` threads (or processes).

    Processes start with "spawn" (a fork of a process running OpenMP or other threads can
    deadlock), each receiving a pickled copy of the dataset, so a new pool serves each pass
    and sees what `on_epoch_end` changed. Closing the generator stops the pool.
    """
    if use_multiprocessing:
        executor = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_install, initargs=(dataset,))
        fetch = _get_installed
    else:
        executor = concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix="fastconv-pydataset")
        fetch = dataset.__getitem__
    indices = iter(indices)
    pending = collections.deque()
    try:
        for index in itertools.islice(indices, max_queue_size):
            pending.append(executor.submit(fetch, index))
        while pending:
            batch = pending.popleft().result()
            for index in itertools.islice(indices, 1):
                pending.append(executor.submit(fetch, index))
            yield batch
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
