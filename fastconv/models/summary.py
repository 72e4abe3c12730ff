"""`model.summary()`: Keras 3's table of layers, output shapes and parameter counts.

The table is drawn as Keras 3 draws it through `rich` (heavy header box, a
rule between rows, the same column-width arithmetic), in plain text; where
the output stream cannot encode box-drawing characters, ASCII lines are used.
"""

import shutil
import sys
import textwrap

import numpy as np

_UNICODE_BOX = {
    "top": "┏━┳┓", "head": "┃┃┃", "head_rule": "┡━╇┩", "row": "│││",
    "rule": "├─┼┤", "bottom": "└─┴┘", "nested": "└ ",
}
_ASCII_BOX = {
    "top": "+-++", "head": "|||", "head_rule": "+=++", "row": "|||",
    "rule": "+-++", "bottom": "+-++", "nested": "`- ",
}


def readable_memory_size(num_bytes):
    """Keras's size string: "1.27 MB", "0.00 B" (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if num_bytes / 1024 < 1:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} PB"


def _memory(arrays):
    return float(sum(np.asarray(a).nbytes for a in arrays))


def _column_widths(line_length, positions):
    """Content widths of the columns, as rich sizes Keras's table.

    Keras asks for `int(position * line_length)` cumulative widths; rich adds a
    one-space pad on each side and a border per column plus one, then takes
    the excess back evenly from every column.
    """
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    widths, current = [], 0
    for position in positions:
        width = position - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    padded = [w + 2 for w in widths]
    excess = sum(padded) + len(widths) + 1 - line_length
    if excess > 0:
        remaining, columns_left, reduced = excess, len(padded), []
        for width in padded:
            cut = min(width, round(remaining / columns_left))
            reduced.append(width - cut)
            remaining -= cut
            columns_left -= 1
        padded = reduced
    return [w - 2 for w in padded]


def _cell_lines(text, width):
    lines = textwrap.wrap(str(text), width=width, break_long_words=True,
                          break_on_hyphens=False) or [""]
    return lines


def _row(cells, widths, aligns, border):
    wrapped = [_cell_lines(cell, width) for cell, width in zip(cells, widths)]
    height = max(len(lines) for lines in wrapped)
    out = []
    for i in range(height):
        parts = []
        for lines, width, align in zip(wrapped, widths, aligns):
            text = lines[i] if i < len(lines) else ""
            justify = {"right": text.rjust, "center": text.center}.get(align, text.ljust)
            parts.append(" " + justify(width) + " ")
        out.append(border[0] + border[1].join(parts) + border[2])
    return out


def _rule(chars, widths):
    return chars[0] + chars[2].join(chars[1] * (w + 2) for w in widths) + chars[3]


def _format_shape(shape):
    """`(None, 3)`; a list of shapes (several outputs) as Keras: `[(None, 3), (None, 2)]`."""
    if isinstance(shape, list):
        return "[" + ", ".join(_format_shape(s) for s in shape) + "]"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _layer_fields(layer, show_trainable, connections=None, prefix=""):
    try:
        shape = _format_shape(layer.output_shape) if layer.built else "?"
    except (AttributeError, ValueError):
        shape = "?"
    params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
    fields = [f"{prefix}{layer.name} ({type(layer).__name__})", shape, params]
    if connections is not None:
        fields.append(connections.get(layer.name, "-"))
    if show_trainable:
        fields.append(("Y" if layer.trainable else "N") if layer.weights else "-")
    return fields


def _box_for_stream(stream):
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "┏━┃┡╇│├┼└".encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return _ASCII_BOX
    return _UNICODE_BOX


def _layer_rows(layer, show_trainable, connections, expand_nested, marker, level=0):
    """The rows of `layer` and, with `expand_nested`, of a nested model's layers below it
    (named with Keras's "└ " `marker`, indented per level)."""
    prefix = "   " * level + marker if level else ""
    rows = [_layer_fields(layer, show_trainable, connections, prefix)]
    if expand_nested and hasattr(layer, "_graph") and layer.layers:
        inner = None
        if connections is not None:  # the nested model's own graph ("-" in a Sequential)
            inner = getattr(layer, "_summary_connections", lambda chains_too: {})(True)
        for sublayer in layer.layers:
            rows += _layer_rows(sublayer, show_trainable, inner, expand_nested, marker,
                                level + 1)
    return rows


def summary_text(model, line_length=None, positions=None, show_trainable=False,
                 layer_range=None, box=None, expand_nested=False):
    """The summary as one string (no trailing newline)."""
    box = box or _UNICODE_BOX
    header = ["Layer (type)", "Output Shape", "Param #"]
    aligns = ["left", "left", "right"]
    default_length = 88
    # A functional model that is not a chain gets Keras's "Connected to" column.
    connections = getattr(model, "_summary_connections", lambda: None)()
    if connections is not None:
        header.append("Connected to")
        aligns.append("left")
        default_length = 108
        positions = list(positions or [0.3, 0.56, 0.74, 1.0])
    positions = list(positions or [0.45, 0.80, 1.0])
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        aligns.append("center")
    if line_length is None:
        line_length = min(default_length, shutil.get_terminal_size().columns - 4)
    widths = _column_widths(line_length, positions)

    layers = model.layers
    if layer_range is not None:
        names = [layer.name for layer in layers]
        if len(layer_range) != 2 or layer_range[0] not in names or layer_range[1] not in names:
            raise ValueError(
                "`layer_range` must be a pair of layer names in the model. "
                f"Received: layer_range={layer_range!r}"
            )
        layers = layers[names.index(layer_range[0]):names.index(layer_range[1]) + 1]

    lines = [f'Model: "{model.name}"', _rule(box["top"], widths)]
    lines += _row(header, widths, aligns, box["head"])
    lines.append(_rule(box["head_rule"], widths))
    rows = [row for layer in layers
            for row in _layer_rows(layer, show_trainable, connections, expand_nested,
                                   box["nested"])]
    for i, row in enumerate(rows):
        if i:
            lines.append(_rule(box["rule"], widths))
        lines += _row(row, widths, aligns, box["row"])
    lines.append(_rule(box["bottom"], widths))

    trainable = model.trainable_weights
    non_trainable = model.non_trainable_weights
    optimizer_vars = _optimizer_variables(model)
    counts = [sum(a.size for a in group) for group in (trainable, non_trainable, optimizer_vars)]
    sizes = [_memory(group) for group in (trainable, non_trainable, optimizer_vars)]
    lines.append(f" Total params: {sum(counts):,} ({readable_memory_size(sum(sizes))})")
    lines.append(f" Trainable params: {counts[0]:,} ({readable_memory_size(sizes[0])})")
    lines.append(f" Non-trainable params: {counts[1]:,} ({readable_memory_size(sizes[1])})")
    if optimizer_vars:
        lines.append(f" Optimizer params: {counts[2]:,} ({readable_memory_size(sizes[2])})")
    return "\n".join(lines)


def _optimizer_variables(model):
    """The optimizer's state arrays once it has taken a step (Keras counts them then)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "built", False):
        return []
    variables = getattr(optimizer, "variables", None)
    variables = variables() if callable(variables) else variables
    return [np.asarray(v) for v in variables or []]


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Prints Keras 3's summary table of `model`.

    Args:
        model: a built (or partly built) `Model`.
        line_length: the table width (default: 88, or the terminal width - 4 if smaller).
        positions: the cumulative column ends, as fractions of `line_length`
            or as absolute positions (default `[0.45, 0.80, 1.0]`).
        print_fn: called once with the whole summary text; defaults to printing to stdout.
        expand_nested: whether to list a nested model's layers below its row (as Keras,
            with a "└ " before their names).
        show_trainable: whether to add a "Trainable" column.
        layer_range: optional pair of layer names, the first and last row to show.
    """
    if print_fn is None:
        box = _box_for_stream(sys.stdout)
        print(summary_text(model, line_length, positions, show_trainable, layer_range, box,
                           expand_nested))
    else:
        print_fn(summary_text(model, line_length, positions, show_trainable, layer_range,
                              expand_nested=expand_nested))
