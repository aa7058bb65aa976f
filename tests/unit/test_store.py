"""The credential store: modes, atomic replacement, refusals, cleanup, races."""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import shutil
import stat
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from nno.core.failures import Failure
from nno.core.messages import Message
from nno.shell import store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

OLD = b'{"token": "old-secret-token"}\n'
NEW = b'{"token": "new-secret-token"}\n'
# A fixed moment for names; writes use the real clock, since stale temp files
# are dated against it.
MOMENT = datetime(2026, 12, 3, 19, 0, 0, tzinfo=UTC)
NOBODY = 65534


def now() -> datetime:
    return datetime.now(UTC)


def mode_of(path: str) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def temp_files(folder: str) -> list[str]:
    return [entry for entry in os.listdir(folder) if entry.endswith(".tmp")]


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def put(path: str, data: bytes, mode: int = 0o600) -> None:
    with open(path, "wb") as file:
        file.write(data)
    os.chmod(path, mode)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def expect_failure(result: object, reason: str) -> Failure:
    assert isinstance(result, Failure), result
    assert result.reason == reason, result
    assert "\n" not in result.text
    return result


@pytest.fixture
def folder(tmp_path: Path) -> str:
    """A config folder that does not exist yet."""
    return str(tmp_path / "nno")


@pytest.fixture
def path(folder: str) -> str:
    return store.credentials_path(folder)


@pytest.fixture
def logged_in(folder: str, path: str) -> str:
    """A folder holding an old credential file, both with tight modes."""
    os.mkdir(folder, 0o700)
    put(path, OLD)
    return path


@pytest.fixture
def umask() -> Iterator[Callable[[int], int]]:
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


@pytest.fixture
def unprivileged() -> Iterator[tuple[str, Callable[[Callable[[], object]], object]]]:
    """A scratch folder and a runner that calls a function as a plain user.

    Permission bits do not stop root, and tests here may run as root: then the
    function runs in a forked child that has dropped to `nobody`, and the
    scratch folder lives where `nobody` can reach it. As a plain user the
    function just runs. Results come back as plain data, never skipped.
    """
    base = tempfile.mkdtemp(prefix="nno-store-")
    os.chmod(base, 0o711)  # noqa: S103 - `nobody` must reach the folders inside

    def run(function: Callable[[], object]) -> object:
        if os.geteuid() != 0:
            return plain(function())
        return as_nobody(function)

    try:
        yield base, run
    finally:
        for root, dirs, _ in os.walk(base):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o700)
        shutil.rmtree(base)


def plain(result: object) -> object:
    """A store result as picklable plain data."""
    if isinstance(result, Failure):
        return ("failure", result.reason, result.text)
    if isinstance(result, list):
        return [(m.kind, m.text) for m in result if isinstance(m, Message)]
    return result


def as_nobody(function: Callable[[], object]) -> object:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 1
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            with os.fdopen(writer, "wb") as pipe:
                pickle.dump(plain(function()), pipe)
            status = 0
        finally:
            os._exit(status)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        answer = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0, "the unprivileged child failed"
    return pickle.loads(answer)  # noqa: S301 - our own child wrote it


def give_to_nobody_if_root(*paths: str) -> None:
    if os.geteuid() == 0:
        for owned in paths:
            os.chown(owned, NOBODY, NOBODY)


# --- where the file lives ---------------------------------------------------


def test_config_dir_defaults_to_dot_nno_in_home() -> None:
    assert store.config_dir({"HOME": "/home/ada"}) == "/home/ada/.nno"


def test_config_dir_is_nno_config_dir_when_set() -> None:
    environ = {"HOME": "/home/ada", "NNO_CONFIG_DIR": "/srv/work"}
    assert store.config_dir(environ) == "/srv/work"


def test_config_dir_ignores_an_empty_nno_config_dir() -> None:
    environ = {"HOME": "/home/ada", "NNO_CONFIG_DIR": ""}
    assert store.config_dir(environ) == "/home/ada/.nno"


def test_config_dir_expands_a_leading_tilde_from_the_given_home() -> None:
    environ = {"HOME": "/home/ada", "NNO_CONFIG_DIR": "~/accounts/work"}
    assert store.config_dir(environ) == "/home/ada/accounts/work"


def test_config_dir_makes_a_relative_nno_config_dir_absolute() -> None:
    environ = {"HOME": "/home/ada", "NNO_CONFIG_DIR": "conf"}
    assert store.config_dir(environ) == os.path.join(os.getcwd(), "conf")


def test_credentials_path_is_credentials_json_in_the_folder() -> None:
    assert store.credentials_path("/x/.nno") == "/x/.nno/credentials.json"


# --- modes -------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077, 0o777])
def test_write_makes_folder_0700_and_file_0600_whatever_the_umask(
    mask: int, folder: str, path: str, umask: Callable[[int], int]
) -> None:
    umask(mask)

    assert store.write(path, NEW, now()) == []

    assert mode_of(folder) == 0o700
    assert mode_of(path) == 0o600


def test_write_creates_missing_parent_folders(tmp_path: Path) -> None:
    path = str(tmp_path / "a" / "b" / "nno" / "credentials.json")

    assert store.write(path, NEW, now()) == []

    assert read_bytes(path) == NEW
    assert mode_of(os.path.dirname(path)) == 0o700


def test_write_tightens_a_folder_open_to_others_and_warns(
    logged_in: str, folder: str
) -> None:
    os.chmod(folder, 0o755)  # noqa: S103 - the loose mode under test

    notes = store.write(logged_in, NEW, now())

    assert mode_of(folder) == 0o700
    assert isinstance(notes, list)
    assert [note.kind for note in notes] == ["warning"]
    assert folder in notes[0].text
    assert "0755" in notes[0].text


def test_write_tightens_a_file_open_to_others_and_warns(logged_in: str) -> None:
    os.chmod(logged_in, 0o644)

    notes = store.write(logged_in, NEW, now())

    assert mode_of(logged_in) == 0o600
    assert isinstance(notes, list)
    assert [note.kind for note in notes] == ["warning"]
    assert logged_in in notes[0].text
    assert "0644" in notes[0].text


def test_tightening_takes_away_only_the_bits_of_group_and_others(
    logged_in: str, folder: str
) -> None:
    # An owner who made the folder read-only keeps it so: the write then
    # fails plainly (as a plain user) instead of nno undoing their choice.
    os.chmod(folder, 0o550)  # noqa: S103 - a mode the owner chose

    store.write(logged_in, NEW, now())

    assert mode_of(folder) == 0o500


# --- atomic replacement ------------------------------------------------------


def test_write_then_read_gives_back_the_same_bytes(path: str) -> None:
    store.write(path, NEW, now())

    assert store.read(path) == NEW


def test_write_replaces_a_longer_old_file_entirely(logged_in: str) -> None:
    put(logged_in, OLD * 100)

    store.write(logged_in, NEW, now())

    assert read_bytes(logged_in) == NEW


def test_failed_fsync_keeps_the_old_file_and_leaves_no_temp(
    logged_in: str, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", broken_fsync)

    failure = expect_failure(store.write(logged_in, NEW, now()), "io_error")

    assert "EIO" in failure.text
    assert read_bytes(logged_in) == OLD
    assert temp_files(folder) == []


def test_failed_rename_keeps_the_old_file_and_leaves_no_temp(
    logged_in: str, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "replace", broken_replace)

    expect_failure(store.write(logged_in, NEW, now()), "io_error")

    assert read_bytes(logged_in) == OLD
    assert temp_files(folder) == []


@pytest.mark.parametrize(
    ("where", "code"),
    [
        ("write", errno.ENOSPC),
        ("write", errno.EDQUOT),
        ("create", errno.EACCES),
        ("create", errno.EROFS),
    ],
)
def test_os_errors_name_the_reason_and_what_to_do_and_keep_the_old_file(
    where: str,
    code: int,
    logged_in: str,
    folder: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_open, real_write = os.open, os.write

    def failing_open(name: str, flags: int, *args: object, **kwargs: object) -> int:
        if flags & os.O_CREAT:
            raise OSError(code, os.strerror(code))
        return real_open(name, flags, *args, **kwargs)  # type: ignore[arg-type]

    def failing_write(fd: int, data: bytes) -> int:
        real_write(fd, bytes(data)[:3])  # a partial write, then the disk fills
        raise OSError(code, os.strerror(code))

    if where == "create":
        monkeypatch.setattr(os, "open", failing_open)
    else:
        monkeypatch.setattr(os, "write", failing_write)

    failure = expect_failure(store.write(logged_in, NEW, now()), "io_error")

    assert errno.errorcode[code] in failure.text
    assert logged_in in failure.text
    assert failure.text.endswith("then try again")
    assert read_bytes(logged_in) == OLD
    assert temp_files(folder) == []


def test_ctrl_c_during_write_leaves_no_temp_file(
    logged_in: str, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(fd: int, data: bytes) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "write", interrupted)

    with pytest.raises(KeyboardInterrupt):
        store.write(logged_in, NEW, now())

    assert read_bytes(logged_in) == OLD
    assert temp_files(folder) == []


def test_write_into_a_read_only_folder_fails_with_eacces(
    unprivileged: tuple[str, Callable[[Callable[[], object]], object]],
) -> None:
    base, run = unprivileged
    folder = os.path.join(base, "nno")
    path = store.credentials_path(folder)
    os.mkdir(folder, 0o700)
    put(path, OLD)
    give_to_nobody_if_root(folder, path)
    os.chmod(folder, 0o500)

    result = run(lambda: store.write(path, NEW, now()))

    assert isinstance(result, tuple)
    assert result[:2] == ("failure", "io_error")
    assert "EACCES" in result[2]
    assert read_bytes(path) == OLD
    assert temp_files(folder) == []


def test_concurrent_writes_leave_exactly_one_complete_payload(
    path: str, folder: str
) -> None:
    # Each child signals when it is ready, then blocks on stdin until all 20
    # are, so the writes really overlap. Payloads are large enough that a mix
    # of two would show.
    script = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from nno.shell import store\n"
        "payload = f'payload-{sys.argv[2]}-'.encode() * 50000\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
        "result = store.write(sys.argv[1], payload, datetime.now(UTC))\n"
        "sys.exit(0 if isinstance(result, list) else repr(result))\n"
    )
    payloads = {f"payload-{n}-".encode() * 50000 for n in range(20)}
    with contextlib.ExitStack() as stack:
        children = [
            stack.enter_context(
                subprocess.Popen(
                    [sys.executable, "-c", script, path, str(n)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            )
            for n in range(20)
        ]
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline() == b"ready\n"
        for child in children:
            assert child.stdin is not None
            child.stdin.close()
        codes = [child.wait(timeout=60) for child in children]
        errors = [child.stderr.read() for child in children if child.stderr]

    assert codes == [0] * 20, errors
    assert read_bytes(path) in payloads
    assert temp_files(folder) == []
    assert mode_of(path) == 0o600


# --- refusals ----------------------------------------------------------------


def test_write_refuses_a_symlinked_file_and_leaves_its_target(
    tmp_path: Path, folder: str, path: str
) -> None:
    target = str(tmp_path / "elsewhere")
    put(target, b"not yours", 0o644)
    os.mkdir(folder, 0o700)
    os.symlink(target, path)

    failure = expect_failure(store.write(path, NEW, now()), "unsafe_path")

    assert "symbolic link" in failure.text
    assert os.path.islink(path)
    assert read_bytes(target) == b"not yours"
    assert mode_of(target) == 0o644


def test_write_refuses_a_symlinked_folder_and_writes_nothing(tmp_path: Path) -> None:
    real = str(tmp_path / "real")
    os.mkdir(real, 0o755)
    link = str(tmp_path / "link")
    os.symlink(real, link)

    failure = expect_failure(
        store.write(store.credentials_path(link), NEW, now()), "unsafe_path"
    )

    assert link in failure.text
    assert os.listdir(real) == []
    assert mode_of(real) == 0o755


def test_read_refuses_a_symlinked_file(tmp_path: Path, folder: str, path: str) -> None:
    target = str(tmp_path / "elsewhere")
    put(target, NEW)
    os.mkdir(folder, 0o700)
    os.symlink(target, path)

    failure = expect_failure(store.read(path), "unsafe_path")

    assert "symbolic link" in failure.text
    assert "secret" not in failure.text
    assert read_bytes(target) == NEW


def test_read_refuses_a_symlinked_folder(tmp_path: Path) -> None:
    real = str(tmp_path / "real")
    os.mkdir(real, 0o700)
    put(store.credentials_path(real), NEW)
    link = str(tmp_path / "link")
    os.symlink(real, link)

    failure = expect_failure(store.read(store.credentials_path(link)), "unsafe_path")

    assert link in failure.text
    assert read_bytes(store.credentials_path(real)) == NEW


def test_write_refuses_a_folder_owned_by_another_user(
    logged_in: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests may run as root, who can chown but is also exempt from most
    # checks; the seam plays a different user against the same folder.
    monkeypatch.setattr(store, "_euid", lambda: os.geteuid() + 1)

    failure = expect_failure(store.write(logged_in, NEW, now()), "unsafe_path")

    assert "another user" in failure.text
    assert read_bytes(logged_in) == OLD


def test_write_refuses_when_the_config_dir_is_a_file(tmp_path: Path) -> None:
    folder = str(tmp_path / "nno")
    put(folder, b"a file, not a folder")

    failure = expect_failure(
        store.write(store.credentials_path(folder), NEW, now()), "unsafe_path"
    )

    assert "not a folder" in failure.text
    assert read_bytes(folder) == b"a file, not a folder"


def test_read_reports_a_config_dir_that_is_a_file(tmp_path: Path) -> None:
    folder = str(tmp_path / "nno")
    put(folder, b"a file, not a folder")

    failure = expect_failure(store.read(store.credentials_path(folder)), "unsafe_path")

    assert "NNO_CONFIG_DIR" in failure.text


def test_write_refuses_a_folder_at_the_file_name(folder: str, path: str) -> None:
    os.makedirs(path)

    failure = expect_failure(store.write(path, NEW, now()), "unsafe_path")

    assert "a folder" in failure.text
    assert temp_files(folder) == []


# --- reading -----------------------------------------------------------------


def test_read_of_a_missing_folder_is_none(path: str) -> None:
    assert store.read(path) is None


def test_read_of_a_missing_file_is_none(folder: str, path: str) -> None:
    os.mkdir(folder, 0o700)

    assert store.read(path) is None


def test_read_of_a_file_over_one_mebibyte_fails_without_showing_it(
    logged_in: str,
) -> None:
    put(logged_in, b"secret" * (2 * 1024 * 1024 // 6))

    failure = expect_failure(store.read(logged_in), "unreadable_credentials")

    assert "1 MiB" in failure.text
    assert "secret" not in failure.text


def test_read_of_exactly_one_mebibyte_gives_the_bytes(logged_in: str) -> None:
    put(logged_in, b"x" * store.MAX_BYTES)

    assert store.read(logged_in) == b"x" * store.MAX_BYTES


def test_read_of_a_folder_at_the_file_name_fails(folder: str, path: str) -> None:
    os.makedirs(path)

    failure = expect_failure(store.read(path), "unsafe_path")

    assert "it is a folder" in failure.text


def test_read_of_a_named_pipe_fails_without_blocking(folder: str, path: str) -> None:
    os.mkdir(folder, 0o700)
    os.mkfifo(path, 0o600)

    failure = expect_failure(store.read(path), "unsafe_path")

    assert "named pipe" in failure.text


def test_read_of_a_file_without_read_permission_fails_with_eacces(
    unprivileged: tuple[str, Callable[[Callable[[], object]], object]],
) -> None:
    base, run = unprivileged
    folder = os.path.join(base, "nno")
    path = store.credentials_path(folder)
    os.mkdir(folder, 0o755)
    put(path, NEW, 0o000)

    result = run(lambda: store.read(path))

    assert isinstance(result, tuple)
    assert result[:2] == ("failure", "io_error")
    assert "EACCES" in result[2]
    assert "secret" not in result[2]


def test_failure_text_stays_on_one_line_for_a_path_with_a_newline(
    tmp_path: Path,
) -> None:
    folder = str(tmp_path / "odd\nname")
    os.mkdir(folder, 0o700)
    put(store.credentials_path(folder), b"x" * (2 * 1024 * 1024))

    failure = expect_failure(
        store.read(store.credentials_path(folder)), "unreadable_credentials"
    )

    assert "odd\\nname" in failure.text


# --- stale temp files --------------------------------------------------------


def test_write_removes_the_temp_file_of_a_dead_process(
    logged_in: str, folder: str
) -> None:
    stale = os.path.join(folder, f".credentials.json.{dead_pid()}.abcdef.tmp")
    put(stale, b"half a tok")

    store.write(logged_in, NEW, now())

    assert not os.path.exists(stale)


def test_write_keeps_the_temp_file_of_a_live_process(
    logged_in: str, folder: str
) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = os.path.join(folder, f".credentials.json.{sleeper.pid}.abcdef.tmp")
        put(live, b"being written")

        store.write(logged_in, NEW, now())

        assert read_bytes(live) == b"being written"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_write_removes_an_hour_old_temp_file_even_if_its_pid_is_alive(
    logged_in: str, folder: str
) -> None:
    # The pid of a killed login may belong to some other process by now.
    reused = os.path.join(folder, f".credentials.json.{os.getppid()}.abcdef.tmp")
    put(reused, b"half a tok")
    two_hours_ago = (now() - timedelta(hours=2)).timestamp()
    os.utime(reused, (two_hours_ago, two_hours_ago))

    store.write(logged_in, NEW, now())

    assert not os.path.exists(reused)


def test_write_leaves_files_that_only_look_like_temps(
    logged_in: str, folder: str
) -> None:
    others = [".credentials.json.notapid.x.tmp", ".other.json.1.x.tmp", "notes.tmp"]
    for name in others:
        put(os.path.join(folder, name), b"keep")

    store.write(logged_in, NEW, now())

    assert sorted(temp_files(folder)) == sorted(others)


# --- moving aside ------------------------------------------------------------


def test_move_aside_keeps_the_bytes_under_a_dated_name_with_mode_0600(
    logged_in: str, folder: str
) -> None:
    put(logged_in, b"not json at all", 0o644)

    moved = store.move_aside(logged_in, MOMENT)

    assert isinstance(moved, str)
    assert moved == os.path.join(folder, "credentials.json.unreadable-20261203T190000Z")
    assert read_bytes(moved) == b"not json at all"
    assert mode_of(moved) == 0o600
    assert not os.path.exists(logged_in)


def test_move_aside_dates_the_name_in_utc(logged_in: str) -> None:
    in_paris = MOMENT.astimezone(timezone(timedelta(hours=1)))

    moved = store.move_aside(logged_in, in_paris)

    assert isinstance(moved, str)
    assert moved.endswith("unreadable-20261203T190000Z")


def test_move_aside_adds_a_suffix_when_the_name_is_taken(
    logged_in: str, folder: str
) -> None:
    first = store.move_aside(logged_in, MOMENT)
    put(logged_in, b"second bad file")

    second = store.move_aside(logged_in, MOMENT)

    assert second == f"{first}-1"
    assert read_bytes(str(first)) == OLD
    assert read_bytes(str(second)) == b"second bad file"


def test_move_aside_refuses_a_symlink(tmp_path: Path, folder: str, path: str) -> None:
    target = str(tmp_path / "elsewhere")
    put(target, b"not yours", 0o644)
    os.mkdir(folder, 0o700)
    os.symlink(target, path)

    expect_failure(store.move_aside(path, MOMENT), "unsafe_path")

    assert os.path.islink(path)
    assert mode_of(target) == 0o644


def test_move_aside_of_a_missing_file_fails(folder: str, path: str) -> None:
    os.mkdir(folder, 0o700)

    failure = expect_failure(store.move_aside(path, MOMENT), "io_error")

    assert "ENOENT" in failure.text


# --- clearing ----------------------------------------------------------------


def test_clear_removes_the_file_temp_files_and_backups(
    logged_in: str, folder: str
) -> None:
    store.move_aside(logged_in, MOMENT)
    put(logged_in, NEW)
    put(os.path.join(folder, f".credentials.json.{os.getpid()}.ab.tmp"), NEW)
    put(os.path.join(folder, "unrelated.txt"), b"keep me")

    assert store.clear(logged_in) is None

    assert os.listdir(folder) == ["unrelated.txt"]


def test_clear_twice_is_fine(logged_in: str) -> None:
    assert store.clear(logged_in) is None
    assert store.clear(logged_in) is None


def test_clear_without_a_folder_is_fine(path: str) -> None:
    assert store.clear(path) is None


def test_clear_removes_a_symlink_but_not_its_target(
    tmp_path: Path, folder: str, path: str
) -> None:
    target = str(tmp_path / "elsewhere")
    put(target, b"not yours")
    os.mkdir(folder, 0o700)
    os.symlink(target, path)

    assert store.clear(path) is None

    assert not os.path.lexists(path)
    assert read_bytes(target) == b"not yours"


def test_clear_refuses_a_symlinked_folder(tmp_path: Path) -> None:
    real = str(tmp_path / "real")
    os.mkdir(real, 0o700)
    put(store.credentials_path(real), NEW)
    link = str(tmp_path / "link")
    os.symlink(real, link)

    expect_failure(store.clear(store.credentials_path(link)), "unsafe_path")

    assert read_bytes(store.credentials_path(real)) == NEW


def test_clear_reports_a_file_it_cannot_remove(folder: str, path: str) -> None:
    os.makedirs(path)  # unlink(2) refuses a folder: a real I/O error

    failure = expect_failure(store.clear(path), "io_error")

    assert path in failure.text


# --- start-up cost -----------------------------------------------------------


def test_importing_the_store_loads_no_heavy_module() -> None:
    heavy = ["typing", "pathlib", "dataclasses", "returns", "contextlib", "secrets"]
    script = (
        "import sys\n"
        "import nno.shell.store\n"
        f"print(sorted(set({heavy!r}) & set(sys.modules)))\n"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )

    assert loaded.stdout == "[]\n"
