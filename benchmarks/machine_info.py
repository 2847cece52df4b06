"""What every benchmark prints about the machine it ran on, and its memory peak.

Usage (from a script in ``benchmarks/``)::

    from machine_info import machine, peak_rss_mb
    print("machine:", machine())
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """CPU model, cores, Python, torch (and its threads) when loaded, and the load average."""
    parts = [f"{cpu_model()} ({platform.machine()})", f"{os.cpu_count()} cores",
             f"Python {platform.python_version()}"]
    torch = sys.modules.get("torch")
    if torch is not None:
        dev = "CUDA " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
        parts.append(f"torch {torch.__version__} on {dev} with {torch.get_num_threads()} threads")
    if hasattr(os, "getloadavg"):
        parts.append(f"load average {os.getloadavg()[0]:.1f}")
    return ", ".join(parts)


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
