"""A one-line progress bar for long storage transfers on a terminal.

The command line draws one on standard error while ``vol-upload``,
``vol-download`` and ``vol-clone`` run, and only when standard error is a
terminal: piped or redirected output never holds control characters.

::

    bar = ProgressBar.on_terminal(sys.stderr, "Uploading 'a.img'")
    vol.upload(f, progress=bar.update if bar else None)
    if bar:
        bar.finish()
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import IO, TypeVar

__all__ = ["ProgressBar", "pretty_capacity"]

T = TypeVar("T")

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def pretty_capacity(size: int) -> str:
    """``size`` bytes as virsh prints capacities: ``"0.00 B"``, ``"512.00 MiB"``, ``"1.00 GiB"``."""
    value, unit = float(size), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{value:.2f} {_UNITS[unit]}"


class ProgressBar:
    """A bar redrawn in place (``\\r``) on a terminal stream; :meth:`finish` ends its line.

    Build one with :meth:`on_terminal`, which gives ``None`` when the stream is
    not a terminal. :meth:`update` has the signature of a storage progress
    callback (:data:`virtcore.storage.ProgressCallback`).
    """

    #: Characters between the brackets.
    WIDTH = 30
    #: Seconds between redraws of :meth:`while_running`'s activity marker.
    TICK = 0.5

    def __init__(self, stream: IO[str], label: str) -> None:
        self.stream = stream
        self.label = label
        self._last = ""
        self._lock = threading.Lock()

    @classmethod
    def on_terminal(cls, stream: IO[str], label: str) -> ProgressBar | None:
        """A bar on ``stream`` if it is a terminal, else ``None`` (nothing is drawn)."""
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError, OSError):  # a closed or foreign stream
            tty = False
        return cls(stream, label) if tty else None

    def line(self, done: int, total: int) -> str:
        """The text of the bar after ``done`` of ``total`` bytes (``total`` 0: unknown)."""
        if total <= 0:
            return f"{self.label}: {pretty_capacity(done)}"
        done = min(done, total)
        filled = self.WIDTH * done // total
        percent = 100 * done // total
        bar = "#" * filled + " " * (self.WIDTH - filled)
        return f"{self.label}: [{bar}] {percent:3d}% {pretty_capacity(done)} / {pretty_capacity(total)}"

    def update(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` bytes; nothing is written when the text is unchanged."""
        self._draw(self.line(done, total))

    def _draw(self, text: str) -> None:
        with self._lock:
            if text == self._last:
                return
            pad = " " * max(0, len(self._last) - len(text))
            self.stream.write(f"\r{text}{pad}")
            self.stream.flush()
            self._last = text

    def while_running(self, work: Callable[[], T]) -> T:
        """Run ``work()``, showing a moving marker and the seconds spent until it returns.

        For operations that report no progress of their own (a clone). The
        marker is redrawn from a helper thread; ``work`` runs in the caller's
        thread, so an interrupt reaches it as usual.
        """
        stop = threading.Event()

        def tick() -> None:
            step = 0
            while not stop.wait(self.TICK):
                step += 1
                pos = step % (self.WIDTH - 3)
                marker = " " * pos + "<=>" + " " * (self.WIDTH - 3 - pos)
                self._draw(f"{self.label}: [{marker}] {step * self.TICK:.0f}s")

        thread = threading.Thread(target=tick, name="virtcore-progress", daemon=True)
        thread.start()
        try:
            return work()
        finally:
            stop.set()
            thread.join()

    def finish(self) -> None:
        """End the bar's line (the last state stays visible)."""
        with self._lock:
            if self._last:
                self.stream.write("\n")
                self.stream.flush()
                self._last = ""
