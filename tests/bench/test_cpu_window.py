"""The drain's CPU figures: a process tree's CPU, grandchildren included, and the machine's busy time."""

import os
import signal
import subprocess
import sys
import time

from bench.processes import children_of, machine_busy_seconds, tree_cpu_seconds
from bench.worker_load import MACHINE, CpuWindow

# A launcher whose busy work runs in a grandchild, as gcloud starts an emulator's Java server.
SPIN = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\ntime.sleep(30)"
LAUNCHER = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {SPIN!r}])"


def test_the_cpu_of_a_grandchild_counts_for_the_process_that_launched_it():
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER])
    try:
        window = CpuWindow({"launcher": launcher.pid})
        deadline = time.monotonic() + 20
        while tree_cpu_seconds(launcher.pid) < 0.6 and time.monotonic() < deadline:
            time.sleep(0.05)
        cores = window.cores()
    finally:
        for child in children_of(launcher.pid):
            os.kill(child, signal.SIGKILL)
        launcher.kill()
        launcher.wait()

    assert tree_cpu_seconds(launcher.pid) == 0.0  # gone: nothing left to count
    assert cores["launcher"] > 0
    assert cores[MACHINE] >= cores["launcher"] - 0.05  # the machine was at least as busy as its process


def test_the_machine_busy_time_only_grows():
    first = machine_busy_seconds()
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    assert machine_busy_seconds() >= first + 0.15
