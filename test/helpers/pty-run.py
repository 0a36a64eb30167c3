#!/usr/bin/env python3
"""Runs a command in a pseudo-terminal and plays steps against it, for tests of interactive terminal behaviour
(Ctrl-C in `kvsieve chat`), which pipes cannot show: with a terminal, readline runs in raw mode and Ctrl-C
arrives as a byte, not a signal.

usage: pty-run.py STEPS_JSON COMMAND [ARGS...]
steps: {"send": TEXT} writes TEXT (e.g. "\u0003" is Ctrl-C); {"expect": REGEX, "timeout": S} reads until REGEX
matches the output after the previous match; {"more": N, "timeout": S} reads until N more bytes have arrived.
After the steps it waits (up to 60 s) for the command to exit. Prints one JSON object: the index of the step
that timed out (or null), the whole output, and the exit status (-N when killed by signal N, null if it never
exited and was killed).
"""
import json
import os
import pty
import re
import select
import signal
import sys
import time


def main() -> None:
    steps = json.loads(sys.argv[1])
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[2], sys.argv[2:])
    out = bytearray()
    eof = False

    def pump(until, timeout: float) -> bool:
        nonlocal eof
        end = time.monotonic() + timeout
        while not until():
            left = end - time.monotonic()
            if left <= 0 or eof:
                return until()
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the child closed the terminal
                    data = b""
                if not data:
                    eof = True
                out.extend(data)
        return True

    failed = None
    mark = 0
    for i, step in enumerate(steps):
        timeout = float(step.get("timeout", 30))
        if "send" in step:
            os.write(fd, step["send"].encode())
        elif "expect" in step:
            rx = re.compile(step["expect"].encode(), re.S)
            start = mark
            if not pump(lambda: rx.search(out, start) is not None, timeout):
                failed = i
                break
            mark = rx.search(out, start).end()
        elif "more" in step:
            want = len(out) + int(step["more"])
            if not pump(lambda: len(out) >= want, timeout):
                failed = i
                break
            mark = len(out)
    status = None
    if failed is None:
        pump(lambda: False, 60)  # until the child closes the terminal, or 60 s
    deadline = time.monotonic() + (5 if failed is None else 0)
    while True:
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(code)
            break
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.05)
    print(json.dumps({"failed_step": failed, "output": out.decode("utf-8", "replace"), "status": status}))


main()
