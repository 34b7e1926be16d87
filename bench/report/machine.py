"""The machine block: what the numbers were measured on, read from the
system at run time (/proc, the libraries themselves, the tools' --version)."""
import ctypes
import ctypes.util
import datetime
import os
import platform
import re
import subprocess

from common import ROOT, write_csv, read_csv

SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
              "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")


def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        text = (out.stdout or out.stderr).strip()
        return text.splitlines()[0] if text else "absent"
    except (OSError, subprocess.TimeoutExpired):
        return "absent"


def cpuinfo():
    model, flags = "unknown", []
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1].split()
    return model, [f for f in SIMD_FLAGS if f in flags]


def memory_gib():
    with open("/proc/meminfo") as f:
        kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    return f"{kb / 2**20:.1f} GiB"


def openblas():
    path = ctypes.util.find_library("openblas") or "libopenblas.so.0"
    try:
        lib = ctypes.CDLL(path)
        lib.openblas_get_config.restype = ctypes.c_char_p
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_config().decode(), lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "absent", "absent"


def onednn():
    for name in ("libdnnl.so.3", "libdnnl.so.2", "libdnnl.so"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue

        class Version(ctypes.Structure):
            _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                        ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint), ("gpu_runtime", ctypes.c_uint)]
        lib.dnnl_version.restype = ctypes.POINTER(Version)
        v = lib.dnnl_version().contents
        # dnnl_cpu_isa_t values (dnnl_types.h, 2.x and 3.x).
        isa_names = {0x0: "default", 0x1: "sse41", 0x3: "avx", 0x7: "avx2", 0x27: "avx512_core",
                     0x67: "avx512_core_vnni", 0xe7: "avx512_core_bf16", 0x1ef: "avx512_core_fp16",
                     0x3e7: "avx512_core_amx", 0x7ef: "avx512_core_amx_fp16", 0x407: "avx2_vnni",
                     0xc07: "avx2_vnni_2"}
        isa = lib.dnnl_get_effective_cpu_isa()
        return f"{v.major}.{v.minor}.{v.patch} ({name})", isa_names.get(isa, hex(isa))
    return "absent", "absent"


def hdf5():
    for name in ("libhdf5_serial.so", "libhdf5.so", ctypes.util.find_library("hdf5_serial") or "",
                 ctypes.util.find_library("hdf5") or ""):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        a, b, c = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
        lib.H5get_libversion(ctypes.byref(a), ctypes.byref(b), ctypes.byref(c))
        return f"{a.value}.{b.value}.{c.value}"
    return "absent"


def facts(load_average):
    model, flags = cpuinfo()
    blas_config, blas_core = openblas()
    dnnl_version, dnnl_isa = onednn()
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    try:
        import torch
        torch_version = f"{torch.__version__} (MKL {torch.backends.mkl.is_available()}, oneDNN {torch.backends.mkldnn.is_available()})"
    except ImportError:
        torch_version = "absent"
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS") if k in os.environ}
    return [
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("commit", commit),
        ("CPU", model),
        ("SIMD flags", " ".join(flags)),
        ("cores (os.cpu_count)", str(os.cpu_count())),
        ("memory", memory_gib()),
        ("kernel", platform.release()),
        ("OpenBLAS", blas_config),
        ("OpenBLAS core", blas_core),
        ("OpenBLAS environment", " ".join(f"{k}={v}" for k, v in env.items()) or "none set"),
        ("oneDNN", dnnl_version),
        ("oneDNN ISA", dnnl_isa),
        ("Open MPI", first_line(["mpirun", "--version"])),
        ("HDF5", hdf5()),
        ("Swift", first_line(["swift", "--version"])),
        ("Python", platform.python_version()),
        ("PyTorch", torch_version),
        ("load average at start (uptime)", load_average),
    ]


def measure(report):
    report.start("machine.csv")
    _, uptime, _ = report.run("machine.csv", ["uptime"], log="uptime")
    load = uptime.strip().split("load average:")[-1].strip()
    rows = facts(load)
    write_csv(report.path("machine.csv"), ["key", "value"], rows)


def add_end_load(report):
    """Appends the load average at the end of the measurements to machine.csv."""
    rows = [(r["key"], r["value"]) for r in read_csv(report.path("machine.csv")) if r["key"] != "load average at end (uptime)"]
    _, uptime, _ = report.run("machine.csv", ["uptime"], log="uptime-end")
    rows.append(("load average at end (uptime)", uptime.strip().split("load average:")[-1].strip()))
    write_csv(report.path("machine.csv"), ["key", "value"], rows)
