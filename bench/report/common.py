"""What every step of the report shares: running a command while recording
it (the report names the command behind each table and plot), its raw output
kept under logs/, and CSV files in and out."""
import csv
import json
import os
import resource
import shlex
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


class Report:
    """The output folder: CSVs, PNGs, logs/ and commands.json (artifact -> commands)."""

    def __init__(self, out, mode, dit):
        self.out, self.mode, self.dit = out, mode, dit
        os.makedirs(os.path.join(out, "logs"), exist_ok=True)
        self.commands_path = os.path.join(out, "commands.json")
        self.commands = self.read_json("commands.json") or {}
        self.notes = self.read_json("notes.json") or {}

    def path(self, name):
        return os.path.join(self.out, name)

    def read_json(self, name):
        try:
            with open(self.path(name)) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def write_json(self, name, value):
        write_atomic(self.path(name), json.dumps(value, indent=1, sort_keys=True) + "\n")

    def save(self):
        self.write_json("commands.json", self.commands)
        self.write_json("notes.json", self.notes)

    def start(self, artifact):
        """Forget what an earlier run recorded for this artifact."""
        self.commands[artifact] = []
        self.notes.pop(artifact, None)

    def note(self, artifact, text):
        self.notes.setdefault(artifact, []).append(text)

    def run(self, artifact, argv, env=None, timeout=1800, log=None, check=True, cwd=ROOT, shown=None):
        """Runs argv, records it under artifact, keeps stdout+stderr in logs/<log>.txt.
        Returns (rc, output, wall seconds); self.last_cpu is the child's user + system seconds."""
        shown = shown or " ".join(shlex.quote(a) for a in argv)
        if env:
            shown = " ".join(f"{k}={v}" for k, v in env.items() if k not in MPI_ENV) + " " + shown
        self.commands.setdefault(artifact, []).append(shown.strip())
        full_env = dict(os.environ, **(env or {}))
        start = time.monotonic()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            p = subprocess.run(argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
            rc, output = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired as e:
            rc, output = 124, f"{e.stdout or ''}{e.stderr or ''}\n(timed out after {timeout} s)"
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.last_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        if log:
            with open(self.path(f"logs/{log}.txt"), "w") as f:
                f.write(f"$ {shown}\n# rc {rc}, {wall:.1f} s wall\n{output}")
        if check and rc != 0:
            raise RuntimeError(f"report: `{shown}` failed with exit {rc}; see {self.path(f'logs/{log}.txt') if log else 'its output'}:\n{output[-2000:]}")
        return rc, output, wall


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_csv(path, header, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)


def read_csv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def mpirun(n, threads, argv):
    """mpirun as the project's notes require: root allowed, no binding, BLAS threads passed on."""
    return ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(n), "-x", f"OPENBLAS_NUM_THREADS={threads}"] + argv
