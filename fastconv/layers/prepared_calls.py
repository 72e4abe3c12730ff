"""PreparedCalls: the op calls a layer has checked, one per input signature.

A layer runs the same op call batch after batch; checking its arguments every time is most of a
small model's Python cost per step. So the layer checks a call once per input signature
(`fastconv.ops.conv2d.prepare_conv2d` and its pooling and matmul twins) and keeps the result
here. The prepared calls are immutable, so one model's runs in several threads share them.
"""

__all__ = ["PreparedCalls"]


class PreparedCalls(dict):
    """A memo of prepared op calls by signature (input shape and dtypes, as the layer keys it):
    a dict, so the lookup of every batch is `dict.get` itself.

    Usage: `calls.get(key) or calls.add(key, prepare(...))`.

    Args:
        size: the signatures kept; a model sees few (its batch size, the last partial batch,
            predict's batch size), so past `size` the memo simply starts over.
    """

    __slots__ = ("_size",)

    def __init__(self, size=16):
        super().__init__()
        self._size = size

    def add(self, key, call):
        """Keeps `call` for `key` and returns it."""
        if len(self) >= self._size:
            self.clear()
        self[key] = call
        return call
