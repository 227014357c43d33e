"""Descendants a benchmarked command leaves running: adopt them, wait for them, count them."""

from __future__ import annotations

import os
import sys
import time

#: prctl(2) option of Linux: "PR_SET_CHILD_SUBREAPER (since Linux 3.4)": an orphaned
#: descendant is re-parented to the nearest subreaper instead of init.
_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Adopt this process's orphaned descendants, so a caller can wait for them and count them.

    Under the CDK CLI, app.py does not wait for jsii's Node.js kernel to stop
    (``app.exit_without_waiting_for_node``): the kernel is orphaned and finishes its tear-down
    after the CLI has exited. Re-parented to init, its CPU time (all of the CDK's work) reached
    no rusage here, and its tear-down overlapped the next timed run. As a subreaper this
    process inherits it, and the benchmark reaps it (``reap``) before the next command
    starts. False where ``prctl`` is missing (not Linux): CPU then leaves out such orphans."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # Linux only

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def reap(deadline_s: float = 30.0) -> int:
    """Wait for adopted orphans (see ``become_subreaper``) to exit; how many were reaped.

    The benchmark never overlaps two commands, so any child left when its command has returned is
    an orphan of that command. Polls (``WNOHANG``) so that a descendant which never ends
    cannot hang the benchmark: after ``deadline_s`` it is left running."""
    reaped = 0
    ends = time.monotonic() + deadline_s
    while time.monotonic() < ends:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break  # no children left
        if pid == 0:
            time.sleep(0.005)
        else:
            reaped += 1
    else:
        print(
            f"[bench] a descendant still runs {deadline_s:.0f} s after its command", file=sys.stderr
        )
    return reaped
