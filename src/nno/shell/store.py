"""The credential file on disk: read it, replace it atomically, move it, clear it.

This module deals in bytes and paths; what the bytes mean is
`nno.core.credentials`' business. Every function returns a value instead of
raising: the bytes, a list of warnings, or a `Failure` whose one-line text
names the path, the operating system's reason and what to do next. A failure
text never quotes the file's contents.

Safety rules, and why:

- The folder is opened once, without following a symbolic link, and every
  later step works relative to that open folder (`dir_fd`). A link swapped in
  between two steps cannot redirect a write, and a folder that is a link is
  refused outright: a token must not land wherever someone pointed it.
- The file itself is never followed either (`O_NOFOLLOW`), for reading or
  writing; `clear` removes a link without touching its target.
- Writes go to a temporary file in the same folder, which is synced and then
  renamed over the target, so a reader sees the old file or the new one,
  never half of one, even if the process dies mid-write or logins race.
- The folder ends up 0700 and the file 0600 whatever the umask: modes are
  set with `chmod` after creation, since the umask can only take bits away
  and an inherited ACL or setgid folder can add surprises.

The store is on the start-up path of `nno whoami` and `nno logout`, so it
imports only modules that Python has loaded already (`os`, `stat`, `errno`)
and never `typing`, `pathlib` or `secrets` at run time.

POSIX only: `O_NOFOLLOW`, `dir_fd` and `fchmod` have no Windows equivalent.
"""

from __future__ import annotations

import errno
import os
import stat

from nno.core.failures import Failure
from nno.core.messages import warning

# Not `from typing import TYPE_CHECKING`: importing typing costs start-up time,
# and mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from typing import Final

    from nno.core.messages import Message

FILE_NAME: Final = "credentials.json"
FOLDER_MODE: Final = 0o700
FILE_MODE: Final = 0o600
# Real credentials are well under a kilobyte; anything this big is not ours,
# and reading it whole could exhaust memory.
MAX_BYTES: Final = 1024 * 1024
# A temp file is alive for the few milliseconds between creation and rename.
# One older than this is stale even if its pid is alive again: pids are
# reused, quickly so in containers, where they count up from 1.
STALE_AFTER_SECONDS: Final = 3600

_FOLDER_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a named pipe planted at the path must not hang whoami.
_READ_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_TEMP_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_GROUP_AND_OTHERS: Final = 0o077
_TEMP_SUFFIX: Final = ".tmp"
_BACKUP_INFIX: Final = ".unreadable-"

_READ: Final = "read credentials at"
_WRITE: Final = "write credentials to"
_MOVE: Final = "move aside"
_CLEAR: Final = "clear credentials at"

# `_os_failure` adds ", then try again" to every piece of advice.
_NO_SPACE: Final = "Free some disk space"
_NO_PERMISSION: Final = "Check that you own {where} and may read and write it"
_ADVICE: Final = {
    errno.ENOSPC: _NO_SPACE,
    errno.EDQUOT: _NO_SPACE,
    errno.EACCES: _NO_PERMISSION,
    errno.EPERM: _NO_PERMISSION,
    errno.EROFS: "The disk is read-only: set NNO_CONFIG_DIR to a writable folder",
}


def config_dir(environ: Mapping[str, str]) -> str:
    """The folder that holds the credentials.

    `NNO_CONFIG_DIR` when set and non-empty (a leading `~` is expanded, a
    relative path made absolute so that messages show where it resolved),
    else `~/.nno`. The home folder comes from `environ`'s `HOME` first, so a
    caller that passes a fake environment gets a path inside it.
    """
    home = environ.get("HOME") or os.path.expanduser("~")
    chosen = environ.get("NNO_CONFIG_DIR", "")
    if not chosen:
        return os.path.join(home, ".nno")
    if chosen == "~" or chosen.startswith("~/"):
        chosen = home + chosen[1:]
    return os.path.abspath(chosen)


def credentials_path(directory: str) -> str:
    return os.path.join(directory, FILE_NAME)


def read(path: str) -> bytes | Failure | None:
    """The file's bytes, or None when there is no file (nor folder).

    A Failure when something is at the path but cannot be used: a symbolic
    link (file or folder), a folder or other non-file, a folder path that is a
    file, a file over `MAX_BYTES`, or an OS error such as EACCES.
    """
    directory, name = _split(path)
    folder = _open_folder(directory, path, _READ)
    if folder is None or isinstance(folder, Failure):
        return folder
    try:
        return _read_in(folder, name, path)
    finally:
        os.close(folder)


def write(path: str, data: bytes, now: datetime) -> list[Message] | Failure:
    """Replace the file with `data` atomically; warnings when modes were loose.

    Creates the folder (and its parents) when missing. Refuses, writing
    nothing, when the folder or the file is a symbolic link or the folder
    belongs to another user. On failure the old file is left as it was and no
    temp file remains. `now` (timezone-aware) dates leftover temp files: see
    `STALE_AFTER_SECONDS`.
    """
    directory, name = _split(path)
    prepared = _prepare_folder(directory, path)
    if isinstance(prepared, Failure):
        return prepared
    folder, notes = prepared
    try:
        return _write_in(
            folder,
            directory=directory,
            name=name,
            path=path,
            data=data,
            now=now,
            notes=notes,
        )
    finally:
        os.close(folder)


def move_aside(path: str, now: datetime) -> str | Failure:
    """Rename an unreadable credential file out of the way; return its new path.

    The new name sits in the same folder and carries `now` in UTC
    (`credentials.json.unreadable-20261203T190000Z`, then `-1`, `-2`… when
    taken); its mode is set to 0600 as it may still hold a token. Login calls
    this before writing, so that a file it cannot read is kept for the user to
    inspect instead of being silently replaced. A naive `now` is read as UTC.
    """
    directory, name = _split(path)
    folder = _open_folder(directory, path, _MOVE)
    if folder is None:
        return _os_failure(_MOVE, path, directory, _missing())
    if isinstance(folder, Failure):
        return folder
    try:
        return _move_in(folder, directory, name, path, now)
    finally:
        os.close(folder)


def clear(path: str) -> Failure | None:
    """Log out on disk: remove the credential file at `path` and its relatives.

    Removes the file, temp files of any write (live or not: after logout no
    token may remain, and a racing login then fails cleanly) and the backups
    `move_aside` made. A symbolic link at any of those names is removed, its
    target never touched; a folder that is a link is refused. Nothing there
    is fine, so clearing twice is too. A Failure on a real I/O error.

    The bytes are unlinked, not overwritten: on journaling and copy-on-write
    file systems and on SSDs an overwrite in place does not reach the old
    blocks, and it would let a concurrent `whoami` read a half-zeroed file.
    """
    directory, name = _split(path)
    folder = _open_folder(directory, path, _CLEAR)
    if folder is None or isinstance(folder, Failure):
        return folder
    try:
        return _clear_in(folder, directory, name, path)
    finally:
        os.close(folder)


# --- reading ---------------------------------------------------------------


def _read_in(folder: int, name: str, path: str) -> bytes | Failure | None:
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=folder)
    except FileNotFoundError:
        return None
    except OSError as error:
        if _is_link(name, folder):
            return _link_refused(_READ, path, path)
        return _os_failure(_READ, path, path, error)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return _not_a_file(_READ, path, info.st_mode)
        # The size check spares reading a huge file; the bounded read still
        # catches one that grows meanwhile, or whose size the system misreports.
        if info.st_size > MAX_BYTES:
            return _too_big(path)
        data = _read_at_most(fd, MAX_BYTES + 1)
    except OSError as error:
        return _os_failure(_READ, path, path, error)
    finally:
        os.close(fd)
    return _too_big(path) if len(data) > MAX_BYTES else data


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# --- writing ---------------------------------------------------------------


def _prepare_folder(directory: str, path: str) -> tuple[int, list[Message]] | Failure:
    """Create or check the folder; return it open, with any warnings."""
    created = _make_folder(directory)
    if isinstance(created, OSError):
        return _os_failure(_WRITE, path, directory, created)
    folder = _open_folder(directory, path, _WRITE)
    if folder is None:
        # Removed between mkdir and open: another process is clearing it.
        return _os_failure(_WRITE, path, directory, _missing())
    if isinstance(folder, Failure):
        return folder
    try:
        notes = _own_folder(folder, directory, path, created=created)
    except OSError as error:
        notes = _os_failure(_WRITE, path, directory, error)
    if isinstance(notes, Failure):
        os.close(folder)
        return notes
    return folder, notes


def _make_folder(directory: str) -> bool | OSError:
    """Create the folder at mode 0700; True when this call created it."""
    try:
        os.mkdir(directory, FOLDER_MODE)
    except FileExistsError:
        return False
    except FileNotFoundError:
        try:
            # Parents get the default modes, as `mkdir -p` gives them; only
            # the last folder holds secrets.
            os.makedirs(os.path.dirname(directory), exist_ok=True)
            os.mkdir(directory, FOLDER_MODE)
        except FileExistsError:
            return False
        except OSError as error:
            return error
    except NotADirectoryError:
        # A parent is a file: the open that follows says so plainly.
        return False
    except OSError as error:
        return error
    return True


def _own_folder(
    folder: int, directory: str, path: str, *, created: bool
) -> list[Message] | Failure:
    """Refuse someone else's folder; give ours exactly owner-only modes."""
    info = os.fstat(folder)
    if info.st_uid != _euid():
        return _foreign(_WRITE, path, directory, info.st_uid)
    mode = stat.S_IMODE(info.st_mode)
    if created:
        os.fchmod(folder, FOLDER_MODE)
        return []
    if mode & _GROUP_AND_OTHERS:
        tightened = mode & ~_GROUP_AND_OTHERS
        os.fchmod(folder, tightened)
        return [_loosened(directory, mode, tightened, "")]
    return []


def _write_in(
    folder: int,
    *,
    directory: str,
    name: str,
    path: str,
    data: bytes,
    now: datetime,
    notes: list[Message],
) -> list[Message] | Failure:
    try:
        existing = _lstat(name, folder)
        if existing is not None:
            checked = _check_old_file(folder, name, path, existing)
            if isinstance(checked, Failure):
                return checked
            notes.extend(checked)
    except OSError as error:
        return _os_failure(_WRITE, path, directory, error)
    _remove_stale_temps(folder, name, now)

    temp = _temp_name(name)
    try:
        fd = os.open(temp, _TEMP_FLAGS, FILE_MODE, dir_fd=folder)
    except OSError as error:
        return _os_failure(_WRITE, path, directory, error)
    try:
        try:
            os.fchmod(fd, FILE_MODE)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException as error:
        # Also on Ctrl-C: a temp file holds a token and must not outlive us.
        _unlink_quietly(temp, folder)
        if isinstance(error, OSError):
            return _os_failure(_WRITE, path, directory, error)
        raise

    synced = _sync_folder(folder)
    if synced is not None:
        return _os_failure(_WRITE, path, directory, synced)
    return notes


def _check_old_file(
    folder: int, name: str, path: str, info: os.stat_result
) -> list[Message] | Failure:
    """Refuse a link or non-file at the target; tighten a loose old file."""
    if stat.S_ISLNK(info.st_mode):
        return _link_refused(_WRITE, path, path)
    if not stat.S_ISREG(info.st_mode):
        return _not_a_file(_WRITE, path, info.st_mode)
    mode = stat.S_IMODE(info.st_mode)
    if not mode & _GROUP_AND_OTHERS:
        return []
    # Tightened now, not just replaced, so that the old token is shut away
    # even if the write below fails. Someone else's file cannot be chmod-ed,
    # but the rename into our own folder replaces it all the same.
    if info.st_uid == _euid():
        os.chmod(name, FILE_MODE, dir_fd=folder)
    return [_loosened(path, mode, FILE_MODE, " (the old token may have been seen)")]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _temp_name(name: str) -> str:
    # The pid tells a later write whether the writer is still alive; the
    # random part keeps two writers (threads) of one process apart.
    return f".{name}.{os.getpid()}.{os.urandom(6).hex()}{_TEMP_SUFFIX}"


def _temp_owner(entry: str, name: str) -> int | None:
    """The pid in a temp file name made by `_temp_name`, else None."""
    prefix = f".{name}."
    if not (entry.startswith(prefix) and entry.endswith(_TEMP_SUFFIX)):
        return None
    pid, dot, rest = entry[len(prefix) : -len(_TEMP_SUFFIX)].partition(".")
    if not (dot and rest and pid.isascii() and pid.isdecimal()):
        return None
    return int(pid)


def _remove_stale_temps(folder: int, name: str, now: datetime) -> None:
    """Delete temp files of writers that died (a login killed mid-write).

    Best effort: a listing or unlink that fails here is not this write's
    problem, and the write itself reports any real trouble with the folder.
    """
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        pid = _temp_owner(entry, name)
        if pid is None:
            continue
        if _is_alive(pid) and not _is_old(entry, folder, now):
            continue
        _unlink_quietly(entry, folder)


def _is_alive(pid: int) -> bool:
    # pid 0 and negative pids address process groups in kill(2): never alive
    # writers, and never to be signalled.
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, OSError):
        return False
    return True


def _is_old(entry: str, folder: int, now: datetime) -> bool:
    try:
        info = os.stat(entry, dir_fd=folder, follow_symlinks=False)
    except OSError:
        return False
    return now.timestamp() - info.st_mtime > STALE_AFTER_SECONDS


# --- moving aside ----------------------------------------------------------


def _move_in(
    folder: int, directory: str, name: str, path: str, now: datetime
) -> str | Failure:
    try:
        owner = os.fstat(folder).st_uid
        if owner != _euid():
            return _foreign(_MOVE, path, directory, owner)
        info = _lstat(name, folder)
        if info is None:
            return _os_failure(_MOVE, path, path, _missing())
        if stat.S_ISLNK(info.st_mode):
            return _link_refused(_MOVE, path, path)
        if not stat.S_ISREG(info.st_mode):
            return _not_a_file(_MOVE, path, info.st_mode)
        if info.st_uid != _euid():
            return _foreign(_MOVE, path, path, info.st_uid)
        backup = _free_name(folder, f"{name}{_BACKUP_INFIX}{_stamp(now)}")
        os.rename(name, backup, src_dir_fd=folder, dst_dir_fd=folder)
        # By name, following links, is safe here: the folder is ours and
        # nobody else can put a link at the fresh name we just renamed to.
        os.chmod(backup, FILE_MODE, dir_fd=folder)
    except OSError as error:
        return _os_failure(_MOVE, path, directory, error)
    synced = _sync_folder(folder)
    if synced is not None:
        return _os_failure(_MOVE, path, directory, synced)
    return os.path.join(directory, backup)


def _stamp(now: datetime) -> str:
    # Formatted by hand: `datetime.UTC` would cost an import on this path.
    t = now.utctimetuple()
    return (
        f"{t.tm_year:04d}{t.tm_mon:02d}{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}{t.tm_min:02d}{t.tm_sec:02d}Z"
    )


def _free_name(folder: int, base: str) -> str:
    candidate = base
    suffix = 0
    while _lstat(candidate, folder) is not None:
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


# --- clearing --------------------------------------------------------------


def _clear_in(folder: int, directory: str, name: str, path: str) -> Failure | None:
    try:
        entries = os.listdir(folder)
    except OSError as error:
        return _os_failure(_CLEAR, path, directory, error)
    backup_prefix = f"{name}{_BACKUP_INFIX}"
    doomed = [
        entry
        for entry in entries
        if entry == name
        or entry.startswith(backup_prefix)
        or _temp_owner(entry, name) is not None
    ]
    # The credential file first: if a later removal fails, the one that
    # whoami reads is already gone.
    doomed.sort(key=lambda entry: entry != name)
    for entry in doomed:
        try:
            os.unlink(entry, dir_fd=folder)
        except FileNotFoundError:
            continue  # a racing logout or login got there first
        except OSError as error:
            return _os_failure(_CLEAR, path, os.path.join(directory, entry), error)
    synced = _sync_folder(folder)
    if synced is not None:
        return _os_failure(_CLEAR, path, directory, synced)
    return None


# --- shared steps ----------------------------------------------------------


def _euid() -> int:
    """The user who must own the folder; a seam so tests can play another."""
    return os.geteuid()


def _split(path: str) -> tuple[str, str]:
    directory, name = os.path.split(path)
    return directory or ".", name


def _open_folder(directory: str, path: str, doing: str) -> int | Failure | None:
    """Open the folder without following a link; None when it does not exist."""
    try:
        return os.open(directory, _FOLDER_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as error:
        # Linux answers ENOTDIR for a link under O_NOFOLLOW | O_DIRECTORY,
        # others ELOOP; only a second look tells a link from a file.
        if error.errno in (errno.ENOTDIR, errno.ELOOP) and _is_link(directory):
            return _link_refused(doing, path, directory)
        if error.errno == errno.ENOTDIR:
            return _not_a_folder(doing, path, directory)
        return _os_failure(doing, path, directory, error)


def _lstat(name: str, folder: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _is_link(name: str, folder: int | None = None) -> bool:
    try:
        info = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISLNK(info.st_mode)


def _unlink_quietly(name: str, folder: int) -> bool:
    """Remove a temp file; False if that failed, which callers may ignore.

    Not `contextlib.suppress`: that import alone would cost this start-up path
    more than the whole module.
    """
    try:
        os.unlink(name, dir_fd=folder)
    except OSError:
        return False
    return True


def _sync_folder(folder: int) -> OSError | None:
    """Make the rename itself durable; the error, if the sync failed."""
    try:
        os.fsync(folder)
    except OSError as error:
        # Some file systems cannot sync a folder; that is not a failed write.
        if error.errno in (errno.EINVAL, errno.ENOTSUP):
            return None
        return error
    return None


def _missing() -> OSError:
    return FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))


# --- failure and warning texts ---------------------------------------------


def _shown(path: str) -> str:
    # A path with a newline or escape in it must not break the one-line rule
    # or drive the terminal.
    return path if path.isprintable() else repr(path)


def _os_failure(doing: str, path: str, where: str, error: OSError) -> Failure:
    code = errno.errorcode.get(error.errno or 0, "unknown error")
    reason = os.strerror(error.errno) if error.errno else str(error)
    advice = _ADVICE.get(error.errno or 0, "Check the disk and {where}")
    return Failure(
        "io_error",
        f"Cannot {doing} {_shown(path)}: {reason} ({code}). "
        f"{advice.format(where=_shown(where))}, then try again",
    )


def _link_refused(doing: str, path: str, link: str) -> Failure:
    if link == path:
        fix = "Remove the link (nno logout does, keeping its target), then retry"
    else:
        fix = "Replace it with a real folder, or set NNO_CONFIG_DIR to one"
    return Failure(
        "unsafe_path",
        f"Refusing to {doing} {_shown(path)}: {_shown(link)} is a symbolic link, "
        f"which nno never follows. {fix}",
    )


def _not_a_folder(doing: str, path: str, directory: str) -> Failure:
    return Failure(
        "unsafe_path",
        f"Cannot {doing} {_shown(path)}: {_shown(directory)} is not a folder. "
        "Set NNO_CONFIG_DIR to a folder, or move that file away",
    )


def _not_a_file(doing: str, path: str, mode: int) -> Failure:
    if stat.S_ISDIR(mode):
        kind = "a folder"
    elif stat.S_ISFIFO(mode):
        kind = "a named pipe"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "a device or other special file"
    return Failure(
        "unsafe_path",
        f"Cannot {doing} {_shown(path)}: it is {kind}, not a file. "
        "Remove it, then run: nno login",
    )


def _foreign(doing: str, path: str, owned: str, uid: int) -> Failure:
    return Failure(
        "unsafe_path",
        f"Refusing to {doing} {_shown(path)}: {_shown(owned)} belongs to another "
        f"user (uid {uid}). Set NNO_CONFIG_DIR to a folder of your own, "
        "or give this one back to you (chown)",
    )


def _too_big(path: str) -> Failure:
    return Failure(
        "unreadable_credentials",
        f"Cannot read credentials at {_shown(path)}: it is larger than 1 MiB, "
        "so it is not a credential file. Run: nno logout, then nno login",
    )


def _loosened(where: str, was: int, now_mode: int, note: str) -> Message:
    return warning(
        f"{_shown(where)} was open to other users (mode {was:04o}); "
        f"tightened to {now_mode:04o}{note}"
    )
