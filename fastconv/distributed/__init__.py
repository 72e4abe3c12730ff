"""Data-parallel training over MPI: the job's ranks, collectives on NumPy arrays, and an optimizer
that averages gradients across ranks.

Launch a program with an MPI launcher (`mpirun -n 2 python -m mpi4py train.py`, `srun`) and call
`init()` first: `fit` and `evaluate` are then data-parallel (`batch_size` is the global batch,
split between the ranks; see `fastconv.distributed.data_parallel`). mpi4py (`pip install
"fastconv[distributed]"`) is imported by `init()` only under a launcher; without one the job has
one rank, every function here is an identity and training runs exactly as without `init()`.
"""

from fastconv.distributed.collectives import allgather, allreduce, broadcast, broadcast_variables
from fastconv.distributed.optimizer import DistributedOptimizer
from fastconv.distributed.runtime import barrier, init, is_initialized, rank, size

__all__ = [
    "init", "is_initialized", "rank", "size", "barrier", "broadcast", "allreduce", "allgather",
    "broadcast_variables", "DistributedOptimizer",
]
