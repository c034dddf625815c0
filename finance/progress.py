"""A tiny terminal progress bar (a carriage-return line on stderr), for the export command."""

from __future__ import annotations

import time
from typing import IO


class ProgressBar:
    def __init__(self, *, total: int, out: IO[str], width: int = 30, every: int = 2000) -> None:
        self.total, self.out, self.width, self.every = total, out, width, every
        self.started = time.monotonic()
        self.shown = -every

    def update(self, done: int) -> None:
        if done - self.shown < self.every and done != self.total:
            return
        self.shown = done
        fraction = done / self.total if self.total else 1.0
        filled = int(self.width * min(1.0, fraction))
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        self.out.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done:,}/{self.total:,} rows "
            f"({fraction:.0%}, {rate:,.0f} rows/s)"
        )
        self.out.flush()

    def close(self) -> None:
        self.out.write("\n")
        self.out.flush()
