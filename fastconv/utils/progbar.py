"""`Progbar`: the Keras-style progress bar on stdout."""

import numbers
import sys
import time

import numpy as np


class Progbar:
    """A Keras-style progress bar on stdout.

    `1500/1500 [==============================] - 12s 8ms/step - loss: 0.4512`

    On a terminal (or a notebook) the line is redrawn in place with `\\r` at
    most every `interval` seconds; otherwise (logs, pipes) a new line is
    printed at most every `log_interval` seconds, plus the final one.

    Args:
        target: total number of steps, or None if unknown.
        width: the bar's width in characters.
        verbose: 1 for the bar, 2 for one line at the end, 0 for silence.
        interval: minimum seconds between redraws on a terminal.
        stateful_metrics: names of values shown as given; the others are
            averaged over the steps so far.
        unit_name: the unit in the time per unit ("step").
        log_interval: minimum seconds between lines when not on a terminal.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step", log_interval=10.0):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.log_interval = log_interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        stream = sys.stdout
        self._dynamic = (hasattr(stream, "isatty") and stream.isatty()) or "ipykernel" in sys.modules
        self._values = {}  # name -> [weighted sum, weight] or the value itself
        self._order = []
        self._seen = 0
        self._start = time.time()
        # off a terminal, the first line waits a full log_interval too
        self._last_update = 0.0 if self._dynamic else self._start
        self._width_drawn = 0

    def update(self, current, values=None, finalize=None):
        """Records progress to step `current` with `(name, value)` pairs."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            if name not in self._order:
                self._order.append(name)
            numeric = isinstance(value, numbers.Number) or (isinstance(value, np.ndarray) and value.size == 1)
            if name in self.stateful_metrics or not numeric:
                self._values[name] = value
            else:
                weight = max(current - self._seen, 1)
                total = self._values.get(name)
                if not isinstance(total, list):
                    total = [0.0, 0]
                total[0] += float(value) * weight
                total[1] += weight
                self._values[name] = total
        self._seen = current

        now = time.time()
        if self.verbose == 1:
            wait = self.interval if self._dynamic else self.log_interval
            if not finalize and now - self._last_update < wait:
                return
            line = self._bar(current) + self._timing(current, now, finalize) + self._metrics()
            if self._dynamic:
                padding = " " * max(self._width_drawn - len(line), 0)
                sys.stdout.write("\r" + line + padding + ("\n" if finalize else ""))
                self._width_drawn = len(line)
            else:
                sys.stdout.write(line + "\n")
            sys.stdout.flush()
        elif self.verbose == 2 and finalize:
            elapsed = now - self._start
            count = f"{current}/{self.target}" if self.target is not None else f"{current}"
            per_unit = self._per_unit(elapsed / current if current else 0.0)
            sys.stdout.write(f"{count} - {elapsed:.0f}s -{per_unit}{self._metrics()}\n")
            sys.stdout.flush()
        self._last_update = now

    def add(self, n, values=None):
        self.update(self._seen + n, values)

    def _bar(self, current):
        if self.target is None:
            return f"{current:7d}/Unknown"
        digits = len(str(self.target))
        done = int(self.width * min(current / self.target, 1.0)) if self.target else self.width
        bar = "=" * max(done - 1, 0)
        if done > 0:
            bar += ">" if current < self.target else "="
        bar += "." * (self.width - done)
        return f"{current:{digits}d}/{self.target} [{bar}]"

    def _timing(self, current, now, finalize):
        elapsed = now - self._start
        per_unit = elapsed / current if current else 0.0
        if finalize or self.target is None:
            return f" - {elapsed:.0f}s{self._per_unit(per_unit)}"
        eta = per_unit * (self.target - current)
        if eta > 3600:
            eta_text = f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
        elif eta > 60:
            eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}"
        else:
            eta_text = f"{eta:.0f}s"
        return f" - ETA: {eta_text}"

    def _per_unit(self, seconds):
        if seconds >= 1 or seconds == 0:
            return f" {seconds:.0f}s/{self.unit_name}"
        if seconds >= 1e-3:
            return f" {seconds * 1e3:.0f}ms/{self.unit_name}"
        return f" {seconds * 1e6:.0f}us/{self.unit_name}"

    def _metrics(self):
        parts = []
        for name in self._order:
            value = self._values[name]
            if isinstance(value, list):
                value = value[0] / max(value[1], 1)
            if isinstance(value, (numbers.Number, np.ndarray)) and np.size(value) == 1:
                value = float(value)
                text = f"{value:.4f}" if abs(value) > 1e-3 or value == 0 else f"{value:.4e}"
            else:
                text = str(value)
            parts.append(f" - {name}: {text}")
        return "".join(parts)
