"""Kernel threads per rank: the cores the launcher bound this rank to, shared fairly.

Open MPI binds each rank to its own core(s) (at up to one rank per core), Slurm binds to the
task's `--cpus-per-task`; MPICH's Hydra binds nothing unless asked (`-bind-to core`), so every
rank sees all the cores. A rank therefore counts the cores in its affinity set and divides them
by the ranks of its node that can run on the same cores: a bound rank gets its own cores, and
unbound ranks split the machine instead of each starting a thread per core.
"""

import os

from fastconv import _config


def _affinity():
    try:
        return os.sched_getaffinity(0)
    except AttributeError:  # macOS and Windows: no affinity masks
        return set(range(os.cpu_count() or 1))


def threads_for_this_rank(comm):
    """The kernel thread count for this rank (collective over `comm`: every rank calls it)."""
    from mpi4py import MPI

    mine = _affinity()
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        everyone = node.allgather(sorted(mine))
    finally:
        node.Free()
    sharing = sum(1 for cores in everyone if mine.intersection(cores))
    return max(1, len(mine) // sharing)


def use_bound_cores(comm):
    """Sets fastconv's thread count from the bound cores, unless OMP_NUM_THREADS says otherwise.

    Returns:
        The thread count now in use.
    """
    threads = threads_for_this_rank(comm)
    if not os.environ.get("OMP_NUM_THREADS", "").strip():
        _config.set_num_threads(threads)
    return _config.get_num_threads()
