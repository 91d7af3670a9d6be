"""The peak memory of the process it runs in, for the measured child processes of the benchmarks.

From :class:`PeakMemory`'s start: the kernel's high-water mark reset through /proc/self/clear_refs
(Linux >= 4.0), and a 5 ms VmRSS sampler, which also keeps the peak per phase the caller names and
of any other counter it is given (Arrow's memory pool). A child script imports it with the
benchmarks folder on ``sys.path``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def rss_kb(field: str = "VmRSS") -> int:
    """A /proc/self/status memory figure in kB (0 where there is none)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PeakMemory:
    """Peak RSS growth from construction to :meth:`stop`; ``phase()`` names what runs now."""

    def __init__(self, *, sample: bool = True, phase: Callable[[], str] = lambda: "",
                 counter: Callable[[], int] | None = None) -> None:
        self.baseline = rss_kb()
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")  # resets VmHWM to the current RSS
            self.hwm_reset = rss_kb("VmHWM") <= self.baseline + 1024
        except OSError:
            self.hwm_reset = False
        self._phase, self._counter = phase, counter
        self.counter_baseline = counter() if counter else 0
        self.peak, self.samples, self.counter_peak = self.baseline, 0, self.counter_baseline
        self.by_phase: dict[str, int] = {}
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True) if sample else None
        if self._sampler is not None:
            self._sampler.start()

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            now = rss_kb()
            self.peak = max(self.peak, now)
            self.samples += 1
            name = self._phase()
            self.by_phase[name] = max(self.by_phase.get(name, 0), now)
            if self._counter is not None:
                self.counter_peak = max(self.counter_peak, self._counter())

    def stop(self) -> dict[str, Any]:
        """The figures in MB: baseline, peak, growth, where the peak came from, samples, growth per phase."""
        self._done.set()
        if self._sampler is not None:
            self._sampler.join()
        peak = max(self.peak, rss_kb("VmHWM") if self.hwm_reset else 0)
        return {"baseline_mb": self.baseline / 1024, "peak_mb": peak / 1024, "growth_mb": (peak - self.baseline) / 1024,
                "peak_from": "+".join(p for p, on in (("VmHWM", self.hwm_reset), ("sampler", self._sampler)) if on),
                "samples": self.samples,
                "growth_by_phase_mb": {k: (v - self.baseline) / 1024 for k, v in self.by_phase.items()},
                "counter_peak_mb": (self.counter_peak - self.counter_baseline) / 2**20}
