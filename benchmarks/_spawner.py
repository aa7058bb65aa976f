"""A tiny process that starts the measured commands and reports what each cost.

Why a separate process: on Linux a child's `ru_maxrss` starts from the peak
RSS of the address space it was forked or vforked from, because exec keeps
the larger of the old and the new mapping's high-water mark. Started straight
from the benchmark (tens of MiB once the local IAM is loaded), every child
would report at least the benchmark's own size. Started from this process,
which loads nothing beyond the interpreter (`python -S`, builtins only), the
floor is a few MiB, below what the smallest Python command needs by itself.

Protocol, over stdin and stdout, each message a 4-byte big-endian length and
a `marshal` payload (a builtin module: it costs this process no memory):

    request   (argv: list[str], env: dict[str, str])
    reply     (exit_status: int, wall_ns: int, user_s: float, sys_s: float,
               max_rss_kib: int)

`exit_status` is the exit code, or minus the signal number. The child's
standard streams are /dev/null. An empty read on stdin ends this process.
"""

from __future__ import annotations

import marshal
import os
import sys
import time

_NULL = "/dev/null"


def _read_exactly(fd: int, size: int) -> bytes:
    chunks = b""
    while len(chunks) < size:
        chunk = os.read(fd, size - len(chunks))
        if not chunk:
            return b""
        chunks += chunk
    return chunks


def _run(argv: list[str], env: dict[str, str]) -> tuple[int, int, float, float, int]:
    streams = [
        (os.POSIX_SPAWN_OPEN, 0, _NULL, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, _NULL, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, _NULL, os.O_WRONLY, 0),
    ]
    started = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=streams)
    _, status, usage = os.wait4(pid, 0)
    wall_ns = time.perf_counter_ns() - started
    return (
        os.waitstatus_to_exitcode(status),
        wall_ns,
        usage.ru_utime,
        usage.ru_stime,
        usage.ru_maxrss,
    )


def main() -> int:
    requests, replies = sys.stdin.fileno(), sys.stdout.fileno()
    while True:
        header = _read_exactly(requests, 4)
        if not header:
            return 0
        payload = _read_exactly(requests, int.from_bytes(header, "big"))
        argv, env = marshal.loads(payload)  # noqa: S302 - from our own parent
        reply = marshal.dumps(_run(argv, env))
        os.write(replies, len(reply).to_bytes(4, "big") + reply)


if __name__ == "__main__":
    sys.exit(main())
