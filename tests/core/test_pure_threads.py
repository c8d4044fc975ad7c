"""Runtime contracts stay sound under threads: deal's ``has`` marker must not leak a patched stdout.

Before the fix, two threads inside ``deal.has``-marked ops at once restored each other's stream
patch, leaving ``sys.stdout`` replaced for the rest of the process: every later ``print`` raised
``deal.SilentContractError`` (found by the conformance kit's request-isolation check).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import torch

from steering_core.ops import steering_delta


def test_concurrent_marked_ops_leave_stdout_alone() -> None:
    stdout = sys.stdout
    vector = torch.randn(64)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(200):
                steering_delta(vector, 0.5, torch.float32, "cpu")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sys.stdout is stdout, "a contract marker left sys.stdout patched"
    print("stdout still works")


def test_other_threads_can_open_sockets_while_a_marked_op_runs() -> None:
    """A server's threads accept and connect while the engine thread runs marked ops."""
    vector = torch.randn(64)
    stop = threading.Event()
    errors: list[BaseException] = []
    opened = [0]

    def connect_loop() -> None:
        while not stop.is_set():
            try:
                socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
                opened[0] += 1
            except BaseException as error:
                errors.append(error)
                return

    thread = threading.Thread(target=connect_loop)
    thread.start()
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not errors:
            steering_delta(vector, 0.5, torch.float32, "cpu")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors, errors[0]
    assert opened[0] > 0


def test_the_effect_check_still_runs_in_a_single_threaded_process() -> None:
    """In a fresh process (one thread, whatever threads this test process holds), an op marked
    pure that prints still raises deal's contract error."""
    code = (
        "import deal\n"
        "from contracts.api import pure\n"
        "@pure\n"
        "def prints():\n"
        "    print('side effect')\n"
        "try:\n"
        "    prints()\n"
        "except deal.SilentContractError:\n"
        "    raise SystemExit(0)\n"
        "raise SystemExit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
