"""Peak memory of one step of this process, from ``/proc/self/status`` (Linux).

``resource.getrusage(...).ru_maxrss`` survives ``exec``: a child started by a big parent reports
the parent's size as its own peak. ``VmHWM`` belongs to the current address space and can be reset
through ``/proc/self/clear_refs``, so the peak of one step can be measured on its own.
"""

from __future__ import annotations


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise LookupError(field)


def rss_mib() -> float:
    return _status_mib("VmRSS")


def peak_rss_mib() -> float:
    return _status_mib("VmHWM")


def reset_peak_rss() -> None:
    """Start a new peak from the current RSS."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
