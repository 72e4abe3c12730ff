"""The Keras tutorial CNN on MNIST, trained data-parallel over MPI processes.

Run:  mpiexec -n 2 python examples/distributed_mnist.py             (2 processes, 5 epochs, ~99%)
      mpiexec -n 2 python -m mpi4py examples/distributed_mnist.py --quick   (2,000 images, 1 epoch)
      python examples/distributed_mnist.py --quick                   (no launcher: a 1-rank job)

Needs `pip install "fastconv[distributed]"` (mpi4py and an MPI) for the launched runs. As root,
Open MPI also wants OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1. Under Slurm:
`srun -n 4 python examples/distributed_mnist.py`.

The program is an ordinary Keras program plus `keras.distributed.init()`: `batch_size` is the
global batch (each rank computes its share and the gradients are averaged), every rank starts
from rank 0's weights, and only rank 0 prints the progress.
"""
import argparse

import fastconv as keras

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="a few samples and one epoch")
quick = parser.parse_args().quick

keras.distributed.init()
rank, size = keras.distributed.rank(), keras.distributed.size()
keras.utils.set_random_seed(0)

# Rank 0 reads (or downloads) MNIST first, so that the ranks never download at once.
if rank != 0:
    keras.distributed.barrier()
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
if rank == 0:
    keras.distributed.barrier()
if quick:
    x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]
x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255.0
x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255.0

model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(64, 3, activation="relu", padding="same"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Flatten(),
    keras.layers.Dense(100, activation="relu"),
    keras.layers.Dropout(0.4),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=1 if quick else 5, validation_split=0.1,
          verbose=2)

# evaluate is data-parallel too: every rank gets the same, global result.
loss, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
if rank == 0:
    print(f"{size} rank(s), {keras.get_num_threads()} thread(s) each")
    print(f"test accuracy {accuracy:.4f}, test loss {loss:.4f}")
