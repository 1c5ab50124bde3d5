"""The machine a build runs on, in words: CPU model, cores, the vector extensions its convolutions use;
and the CPU kernels TensorFlow is asked for (oneDNN where TensorFlow would not pick it on an AVX2 CPU).

No TensorFlow: the benchmark's header, the build record and the estimate line all name the
machine, and a time measured on one CPU says little about another without it. The
extensions listed are the ones that change oneDNN's fp32 and bfloat16 speed by integer
factors (AVX2 -> AVX-512 doubles the fp32 width; AVX512-BF16 and AMX make `precision: mixed` pay).
"""

from __future__ import annotations

import os
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# (flag in /proc/cpuinfo, how people write it), weakest first
VECTOR_EXTENSIONS: tuple[tuple[str, str], ...] = (
    ("avx2", "AVX2"),
    ("avx512f", "AVX-512"),
    ("avx512_bf16", "AVX512-BF16"),
    ("amx_tile", "AMX"),
)

CPUINFO = Path("/proc/cpuinfo")
ONEDNN_SWITCH = "TF_ENABLE_ONEDNN_OPTS"  # read once, when TensorFlow is imported


@dataclass(frozen=True)
class CpuInfo:
    model: str
    cores: int  # the cores this process may use (a container's share, not the host's)
    extensions: tuple[str, ...] | None  # present ones, as VECTOR_EXTENSIONS writes them; None: unknown

    def describe(self) -> str:
        """'Intel(R) Xeon(R) Processor, 2 cores, AVX2 AVX-512 AVX512-BF16 AMX' (absent ones after 'without')."""
        return f"{self.model}, {self._cores()}, {self._extensions()}"

    def brief(self) -> str:
        """The same without the trademark signs and filler words: 'Intel Xeon, 2 cores, AVX2 AVX-512 ...'."""
        return f"{short_model(self.model)}, {self._cores()}, {self._extensions()}"

    def _cores(self) -> str:
        return f"{self.cores} core{'s' if self.cores != 1 else ''}"

    def _extensions(self) -> str:
        if self.extensions is None:
            return "vector extensions unknown"
        absent = [name for _, name in VECTOR_EXTENSIONS if name not in self.extensions]
        present = " ".join(self.extensions) or "no AVX2"
        return f"{present}, without {' '.join(absent)}" if absent and self.extensions else present


def parse_cpuinfo(text: str, cores: int) -> CpuInfo:
    """A CpuInfo from the text of /proc/cpuinfo (x86 Linux: 'model name' and 'flags' lines)."""
    model = _first_field(text, "model name") or platform.machine() or "unknown CPU"
    flags_line = _first_field(text, "flags")
    if flags_line is None:  # not x86 (ARM writes 'Features'): the x86 extensions mean nothing there
        return CpuInfo(model, cores, None)
    flags = set(flags_line.split())
    return CpuInfo(model, cores, tuple(name for flag, name in VECTOR_EXTENSIONS if flag in flags))


def _first_field(text: str, name: str) -> str | None:
    match = re.search(rf"^{re.escape(name)}\s*:\s*(.*)$", text, flags=re.MULTILINE)
    return match.group(1).strip() if match else None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what a CPU-limited container really gives us
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def cpu_info() -> CpuInfo:
    """This machine's CPU; on a system without /proc/cpuinfo, what `platform` knows (extensions unknown)."""
    try:
        text = CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return CpuInfo(platform.processor() or platform.machine() or "unknown CPU", usable_cores(), None)
    return parse_cpuinfo(text, usable_cores())


def describe_cpu() -> str:
    return cpu_info().describe()


def short_model(model: str) -> str:
    """'Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz' -> 'Intel Xeon Platinum 8480+'."""
    text = re.sub(r"\((R|TM|tm|r)\)", "", model)
    text = re.sub(r"\s*@.*$", "", text)  # the clock is the nominal one, not what a loaded core runs at
    words = [word for word in text.split() if word not in ("CPU", "Processor", "processor")]
    return " ".join(words) or model


def prefer_onednn(environ=os.environ) -> str | None:
    """Ask for TensorFlow's oneDNN CPU kernels on an x86 CPU with AVX2, unless the user chose already.

    TensorFlow turns oneDNN on by itself only where the CPU has AVX512-VNNI, AVX512-BF16, AVX-VNNI or
    AMX; on an AVX2-only CPU it falls back to its own kernels, which were slower on every layer measured
    (2-core AMD EPYC: whole builds 1.07-1.36x slower by layer; docs/PERFORMANCE.md). The switch
    is read when TensorFlow is imported, so this must run first: it does nothing once TensorFlow is
    loaded, on a CPU without AVX2 or not x86, or when the user set the variable (0 keeps TF's own).
    Returns the value set, or None when it set nothing.
    """
    if "tensorflow" in sys.modules or ONEDNN_SWITCH in environ:
        return None
    extensions = cpu_info().extensions
    if not extensions or "AVX2" not in extensions:
        return None
    environ[ONEDNN_SWITCH] = "1"
    return "1"


def cpu_kernels(environ=os.environ) -> str:
    """Which CPU kernels TensorFlow was asked for, for the build record: 'oneDNN', 'TensorFlow's own' or
    'TensorFlow's default' (the variable unset: oneDNN only where the CPU has VNNI, BF16 or AMX)."""
    value = environ.get(ONEDNN_SWITCH)
    if value is None:
        return "TensorFlow's default"
    return "oneDNN" if value.strip().lower() in ("1", "true") else "TensorFlow's own"
