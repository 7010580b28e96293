"""The load test's cost column: gunicorn's CPU time per request, from /proc."""

import subprocess
import sys
import time

from loadtest.report import Report, Row
from loadtest.servers import cpu_seconds

# A "master" that forks a worker burning ~0.3 s of CPU, reaps it, then waits to be measured.
MASTER = """
import os, sys, time
def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
pid = os.fork()
if pid == 0:
    burn(0.3)
    os._exit(0)
os.waitpid(pid, 0)
print("reaped", flush=True)
time.sleep(30)
"""


def test_cpu_seconds_counts_workers_the_master_has_reaped():
    master = subprocess.Popen([sys.executable, "-c", MASTER], stdout=subprocess.PIPE, text=True)
    try:
        assert master.stdout.readline().strip() == "reaped"
        assert cpu_seconds(master.pid) >= 0.25  # counted in 10 ms ticks
    finally:
        master.kill()
        master.wait()
        master.stdout.close()


def test_cpu_seconds_of_a_process_that_is_gone_is_zero():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    time.sleep(0.05)
    assert cpu_seconds(gone.pid) == 0


def test_the_summary_shows_cpu_per_request():
    report = Report(rows=[Row("locust", "Aggregated", 1000, 250.0, 40, 90, 300, 0, None, 5.4321)])
    lines = report.render().splitlines()
    assert lines[0].endswith("cpu ms/req")
    assert lines[2].endswith("5.43")
