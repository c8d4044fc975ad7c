"""Runtime contracts stay sound under threads: deal's ``has`` marker must not leak a patched stdout.

Before the fix, two threads inside ``deal.has``-marked ops at once restored each other's stream
patch, leaving ``sys.stdout`` replaced for the rest of the process: every later ``print`` raised
``deal.SilentContractError`` (found by the conformance kit's request-isolation check).
"""

from __future__ import annotations

import sys
import threading

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
