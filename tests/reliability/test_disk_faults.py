"""A full, read-only or forbidden disk: the old file survives, one line says why.

In-process, each step of the store's write (create the temp file, write,
sync, rename; and creating the folder) is made to fail with ENOSPC, EACCES
or EROFS by wrapping the `os` function it calls; only calls on the
credential folder fail. Then the same three errors come from the real
kernel, in a child process: a read-only bind mount and a full tmpfs in a
private mount namespace (`unshare -m`), and a folder without write
permission for a root that has dropped its override capability (`setpriv`).
Where the machine allows none of that, the child gets the fault from a
`sitecustomize` module instead, and the test says so on its output.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nno_local_iam import LocalIam
from tests.reliability.support import (
    Finished,
    Nno,
    Transcript,
    fake_iam_for,
    read_bytes,
    run_main,
    stored,
    temp_files,
)

URL = "http://127.0.0.1:9"
POINTS = ("create_temp", "write", "fsync", "rename")
ERRORS = (errno.ENOSPC, errno.EACCES, errno.EROFS)


def fail_at(monkeypatch: pytest.MonkeyPatch, point: str, code: int) -> None:
    """Make one step of writing a temp file fail with `code`."""
    real_open, real_write = os.open, os.write
    real_fsync, real_replace = os.fsync, os.replace
    temp_fds: set[int] = set()

    def refuse() -> OSError:
        return OSError(code, os.strerror(code))

    def fake_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if not (isinstance(path, str) and path.endswith(".tmp")):
            return real_open(path, flags, *args, **kwargs)
        if point == "create_temp":
            raise refuse()
        fd = real_open(path, flags, *args, **kwargs)
        temp_fds.add(fd)
        return fd

    def fake_write(fd: int, data: Any) -> int:
        if point == "write" and fd in temp_fds:
            real_write(fd, bytes(data[:16]))  # the disk fills up part-way
            raise refuse()
        return real_write(fd, data)

    def fake_fsync(fd: int) -> None:
        if point == "fsync" and fd in temp_fds:
            raise refuse()
        real_fsync(fd)

    def fake_replace(source: Any, target: Any, **kwargs: Any) -> None:
        if point == "rename" and str(source).endswith(".tmp"):
            raise refuse()
        real_replace(source, target, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "write", fake_write)
    monkeypatch.setattr(os, "fsync", fake_fsync)
    monkeypatch.setattr(os, "replace", fake_replace)


def assert_says_why(line: str, code: int, path: str) -> None:
    assert line.startswith("✖ Cannot write credentials to"), line
    assert path in line
    assert f"({errno.errorcode[code]})" in line
    assert line.count("then try again") == 1, line


@pytest.mark.parametrize("code", ERRORS, ids=errno.errorcode.get)
@pytest.mark.parametrize("point", POINTS)
def test_a_failing_step_of_the_write_keeps_the_old_file_and_says_why(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    transcript: Transcript,
    point: str,
    code: int,
) -> None:
    """ENOSPC, EACCES or EROFS mid-write: exit 1, one line, old file, no temp."""
    config = str(tmp_path / "config")
    path = f"{config}/credentials.json"
    fake_iam_for(monkeypatch)
    old = transcript.new_token("old")
    first = run_main(transcript, config, "login", "--token", old, "--iam-url", URL)
    assert first.exit_code == 0
    before = read_bytes(path)
    assert stored(path).token == old
    fail_at(monkeypatch, point, code)

    new = transcript.new_token("new")
    ran = run_main(transcript, config, "login", "--token", new, "--iam-url", URL)

    assert ran.exit_code == 1
    assert read_bytes(path) == before
    assert temp_files(config) == []
    [line] = ran.messages
    assert_says_why(line, code, path)
    assert "Authenticated" not in ran.stdout


@pytest.mark.parametrize("code", ERRORS, ids=errno.errorcode.get)
def test_a_folder_that_cannot_be_made_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transcript: Transcript, code: int
) -> None:
    """mkdir of the config folder fails: exit 1, one line, nothing created."""
    config = str(tmp_path / "config")
    fake_iam_for(monkeypatch)
    real_mkdir = os.mkdir

    def fake_mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if str(path) == config:
            raise OSError(code, os.strerror(code))
        real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", fake_mkdir)

    token = transcript.new_token("token")
    ran = run_main(transcript, config, "login", "--token", token, "--iam-url", URL)

    assert ran.exit_code == 1
    assert not os.path.exists(config)
    [line] = ran.messages
    assert_says_why(line, code, f"{config}/credentials.json")


# The same errors from the kernel, in a child process -----------------------------

_READ_ONLY = 'mount --bind "$1" "$1"; mount -o remount,bind,ro "$1"; shift; exec "$@"'
# The tmpfs exists only in the child's namespace: copy the result out of it.
_FULL_DISK = """
folder=$1; outside=$2; shift 2
mount -t tmpfs -o size=64k,mode=0700 nno-full "$folder" || exit 97
cp "$outside/before.json" "$folder/credentials.json" && chmod 600 "$folder"/*
dd if=/dev/zero of="$folder/filler" bs=4k 2>/dev/null
"$@"; code=$?
cp "$folder/credentials.json" "$outside/after.json"
ls -A "$folder" > "$outside/listing"
exit $code
"""
_SIMULATION = """\
import errno, os
_code = getattr(errno, os.environ.pop("NNO_TEST_FAULT"))
_open = os.open

def _failing_open(path, flags, *args, **kwargs):
    if isinstance(path, str) and path.endswith(".tmp"):
        raise OSError(_code, os.strerror(_code))
    return _open(path, flags, *args, **kwargs)

os.open = _failing_open
"""


def may_mount() -> bool:
    """Whether this machine lets us make a private mount namespace."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "true"], capture_output=True, check=False, timeout=10
    )
    return probe.returncode == 0


def simulated(
    nno: Nno, tmp_path: Path, fault: str, login: Callable[..., Finished]
) -> Finished:
    """Run `login` with the fault injected by a `sitecustomize` in the child."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(_SIMULATION)
    print(f"\n{fault}: no privileges for the real fault here; simulated in the child")
    return login(environ=nno.environ(PYTHONPATH=str(hooks), NNO_TEST_FAULT=fault))


def test_a_read_only_file_system_keeps_the_old_file_and_says_erofs(
    nno: Nno, iam: LocalIam, transcript: Transcript, logged_in: bytes, tmp_path: Path
) -> None:
    """A real read-only mount (or, without privileges, a simulated one)."""
    token = transcript.new_token("new")
    iam.add_token(token)

    if may_mount():
        prefix = ["unshare", "-m", "--", "sh", "-c", _READ_ONLY, "sh", nno.config_dir]
        done = nno.login(token, iam.url, prefix=prefix)
    else:
        done = simulated(
            nno, tmp_path, "EROFS", lambda **kw: nno.login(token, iam.url, **kw)
        )

    assert done.exit_code == 1
    assert read_bytes(nno.credentials) == logged_in
    assert temp_files(nno.config_dir) == []
    assert_says_why(done.one_error_line(), errno.EROFS, nno.credentials)


def test_a_full_disk_keeps_the_old_file_and_says_enospc(
    nno: Nno, iam: LocalIam, transcript: Transcript, logged_in: bytes, tmp_path: Path
) -> None:
    """A real full tmpfs (or, without privileges, a simulated one)."""
    token = transcript.new_token("new")
    iam.add_token(token)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "before.json").write_bytes(logged_in)

    if may_mount():
        prefix = ["unshare", "-m", "--", "sh", "-c", _FULL_DISK, "sh"]
        done = nno.login(token, iam.url, prefix=[*prefix, nno.config_dir, str(outside)])
        after = (outside / "after.json").read_bytes()
        listing = (outside / "listing").read_text().split()
    else:
        done = simulated(
            nno, tmp_path, "ENOSPC", lambda **kw: nno.login(token, iam.url, **kw)
        )
        after = read_bytes(nno.credentials)
        listing = os.listdir(nno.config_dir)

    assert done.exit_code == 1
    assert after == logged_in
    assert [entry for entry in listing if entry.endswith(".tmp")] == []
    assert_says_why(done.one_error_line(), errno.ENOSPC, nno.credentials)


def test_a_folder_without_write_permission_keeps_the_old_file_and_says_eacces(
    nno: Nno, iam: LocalIam, transcript: Transcript, logged_in: bytes, tmp_path: Path
) -> None:
    """A real EACCES: root without CAP_DAC_OVERRIDE, or any other user, at 0500."""
    token = transcript.new_token("new")
    iam.add_token(token)
    os.chmod(nno.config_dir, 0o500)
    try:
        if os.geteuid() != 0:
            done = nno.login(token, iam.url)
        elif shutil.which("setpriv") is not None:
            drop = "--bounding-set=-dac_override,-dac_read_search"
            done = nno.login(token, iam.url, prefix=["setpriv", drop, "--"])
        else:
            done = simulated(
                nno, tmp_path, "EACCES", lambda **kw: nno.login(token, iam.url, **kw)
            )
    finally:
        os.chmod(nno.config_dir, 0o700)

    assert done.exit_code == 1
    assert read_bytes(nno.credentials) == logged_in
    assert temp_files(nno.config_dir) == []
    assert_says_why(done.one_error_line(), errno.EACCES, nno.credentials)
