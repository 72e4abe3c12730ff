"""The job: whether this process is one rank of an MPI launch, its rank and the job's size.

mpi4py is imported by `init()`, and only when a launcher started several processes (importing it
costs about a second and starts MPI); otherwise the job has one rank and no MPI at all, so a
program that calls `init()` runs exactly as one that does not.
"""

import os
import sys

from fastconv.distributed import failures, threads

# The number of processes, as MPI launchers tell each process they start: Open MPI's mpirun,
# MPICH's and Intel MPI's Hydra (PMI), MVAPICH, and Slurm's srun (set only inside a job step).
_LAUNCHER_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE",
                            "SLURM_STEP_NUM_TASKS")

_INSTALL_HINT = 'pip install "fastconv[distributed]"'

_comm = None  # MPI.COMM_WORLD when the job has more than one rank, else None
_rank = 0
_size = 1
_initialized = False


def _launcher_size():
    """(the number of processes a launcher started, the variable that says so), or (1, None)."""
    for name in _LAUNCHER_SIZE_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value), name
    return 1, None


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(
            "fastconv.distributed needs mpi4py and an MPI library to run under an MPI launcher. "
            f"Install them with: {_INSTALL_HINT}  (or `pip install mpi4py` to use your cluster's "
            f"MPI). Original error: {error}"
        ) from error
    return MPI


def init():
    """Joins the job this process was launched into; call it once, before any other function here.

    Under `mpirun`/`mpiexec`/`srun` starting several processes, this imports mpi4py (starting
    MPI), sets the kernel threads to the cores the launcher bound this rank to (shared with the
    node's other ranks on the same cores; `OMP_NUM_THREADS`, when set, wins), and installs the
    failure handling: an exception on any rank, in any thread, aborts the
    whole job (`MPI.COMM_WORLD.Abort(1)`) instead of leaving the other ranks waiting forever, and
    when the environment variable `FASTCONV_DIST_TIMEOUT` holds a number of seconds, a rank on
    which no collective operation completes for that long aborts the job too.

    Otherwise the job has one rank: mpi4py is not imported (unless the program already did) and
    every function of this module is an identity or does nothing. Calling `init()` again does
    nothing.

    Raises:
        ImportError: launched by an MPI launcher but mpi4py is not installed; the message names
            the pip command.
        RuntimeError: the launcher started a number of processes that MPI does not see as one
            job (mpi4py loads a different MPI library than the launcher's).
        ValueError: `FASTCONV_DIST_TIMEOUT` is set but not a positive number of seconds.
    """
    global _comm, _rank, _size, _initialized
    if _initialized:
        return
    timeout = failures.stall_timeout_from_environment()
    launched, variable = _launcher_size()
    if launched > 1 or "mpi4py.MPI" in sys.modules:
        MPI = _import_mpi()
        world = MPI.COMM_WORLD
        if world.Get_size() != launched and variable is not None:
            raise RuntimeError(
                f"The launcher started {launched} processes ({variable}={launched}), but MPI sees "
                f"a job of {world.Get_size()}: each process would train on its own. mpi4py runs "
                f"on {MPI.Get_library_version().splitlines()[0]!r}; launch with that MPI's "
                "mpirun/mpiexec (under Slurm, `srun --mpi=pmix` or the site's MPI module)."
            )
        if world.Get_size() > 1:
            _comm, _rank, _size = world, world.Get_rank(), world.Get_size()
            failures.abort_on_exception(world)
            threads.use_bound_cores(world)
            if timeout is not None:
                failures.start_watchdog(world, timeout)
    _initialized = True


def is_initialized():
    """Whether `init()` has been called in this process."""
    return _initialized


def _require_init(name):
    if not _initialized:
        raise RuntimeError(
            f"fastconv.distributed.{name}() needs the job: call fastconv.distributed.init() first."
        )


def rank():
    """This process's rank: 0 to `size() - 1` (0 in a 1-rank job)."""
    _require_init("rank")
    return _rank


def size():
    """The number of ranks (processes) in the job (1 without an MPI launcher)."""
    _require_init("size")
    return _size


def world(name):
    """The communicator of a job with several ranks, or None in a 1-rank job."""
    _require_init(name)
    return _comm


def barrier():
    """Waits until every rank has reached this call."""
    comm = world("barrier")
    if comm is not None:
        comm.Barrier()
        failures.progress()
