"""The benchmark shape table: the conv2d and pooling layers of common Keras tutorial CNNs.

Shapes are per image (NHWC without N); the batch size is chosen at run time, so the same
table runs at batch 32 and 128. Everything is float32.
"""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ConvShape:
    """One conv2d layer: (H, W, C) images, F filters of KH x KW, stride 1 unless noted; with
    groups > 1 each filter sees C / groups channels (groups == C: depthwise)."""

    name: str
    H: int
    W: int
    C: int
    F: int
    KH: int = 3
    KW: int = 3
    padding: str = "valid"
    strides: int = 1
    groups: int = 1

    def output_hw(self):
        if self.padding == "same":
            return -(-self.H // self.strides), -(-self.W // self.strides)
        return ((self.H - self.KH) // self.strides + 1, (self.W - self.KW) // self.strides + 1)

    def label(self, batch):
        return (f"{batch}x{self.H}x{self.W}x{self.C}->{self.F} "
                f"{self.KH}x{self.KW} {self.padding}"
                + (f" stride {self.strides}" if self.strides > 1 else "")
                + (f" groups {self.groups}" if self.groups > 1 else ""))

    def flops(self, batch):
        """Multiply-adds x 2 of one forward pass (the backward pass, dx + dW, is twice this)."""
        OH, OW = self.output_hw()
        return 2 * batch * OH * OW * self.KH * self.KW * (self.C // self.groups) * self.F

    def as_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class PoolShape:
    """One pooling layer: (H, W, C) images, a pool x pool window with stride = pool, valid."""

    name: str
    H: int
    W: int
    C: int
    pool: int = 2

    def output_hw(self):
        return self.H // self.pool, self.W // self.pool

    def label(self, batch):
        return f"{batch}x{self.H}x{self.W}x{self.C} {self.pool}x{self.pool}"

    def bytes_moved(self, batch, kind, pass_):
        """Bytes a pooling pass must read and write at least (float32).

        forward: read x, write y. max backward: read x and dy, write dx (the argmax is found
        again from x). avg backward: read dy, write dx.
        """
        OH, OW = self.output_hw()
        x = batch * self.H * self.W * self.C * 4
        y = batch * OH * OW * self.C * 4
        if pass_ == "forward":
            return x + y
        if kind == "max":
            return x + y + x
        return y + x

    def as_dict(self):
        return asdict(self)


CONV_SHAPES = (
    # Fashion-MNIST tutorial CNN (Conv2D(32, 3, padding="same") -> pool -> Conv2D(64, ...)).
    ConvShape("fashion_conv1", 28, 28, 1, 32, padding="same"),
    ConvShape("fashion_conv2", 14, 14, 32, 64, padding="same"),
    # The larger Keras MNIST CNN (two valid 3x3 convs before the pool).
    ConvShape("mnist_conv1", 28, 28, 1, 32, padding="valid"),
    ConvShape("mnist_conv2", 26, 26, 32, 64, padding="valid"),
    # Mid-network layers, where most of a deeper CNN's time goes.
    ConvShape("mid_28x64", 28, 28, 64, 64, padding="same"),
    ConvShape("mid_14x64", 14, 14, 64, 128, padding="same"),
    ConvShape("mid_14x128", 14, 14, 128, 256, padding="valid"),
    # First layer of a small RGB image classifier.
    ConvShape("rgb_first", 100, 100, 3, 32, padding="valid"),
    # Depthwise layers of a MobileNet-style network (groups == channels).
    ConvShape("dw_56x32", 56, 56, 32, 32, padding="same", groups=32),
    ConvShape("dw_29x64_s2", 29, 29, 64, 64, padding="valid", strides=2, groups=64),
    ConvShape("dw_14x128", 14, 14, 128, 128, padding="same", groups=128),
)

POOL_SHAPES = (
    PoolShape("pool_28x32", 28, 28, 32),
    PoolShape("pool_28x64", 28, 28, 64),
    PoolShape("pool_14x64", 14, 14, 64),
)

BATCHES = (32, 128)

# --quick: one single-channel and one multi-channel conv, one pooling shape.
QUICK_CONV = ("fashion_conv1", "fashion_conv2")
QUICK_POOL = ("pool_14x64",)


def select(table, names):
    """The entries of `table` named in `names` (all when `names` is None), in table order."""
    if names is None:
        return list(table)
    known = {s.name for s in table}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown shape name(s) {unknown}; known: {sorted(known)}")
    return [s for s in table if s.name in names]
