"""Modes hold whatever the umask; links and other users' folders are refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nno.shell import store
from nno_local_iam import LocalIam
from tests.reliability.support import (
    Nno,
    Transcript,
    fake_iam_for,
    mode_of,
    put_credentials,
    read_bytes,
    run_main,
    stored,
)

NOBODY = 65534


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077], ids="umask {:03o}".format)
def test_a_first_login_makes_folder_0700_and_file_0600_whatever_the_umask(
    nno: Nno, iam: LocalIam, token: str, umask: int
) -> None:
    """Modes are exact under any umask, and both belong to the user."""
    done = nno.login(token, iam.url, umask=umask)

    assert done.exit_code == 0, done.stderr
    assert done.messages == []
    assert mode_of(nno.config_dir) == 0o700
    assert mode_of(nno.credentials) == 0o600
    assert os.stat(nno.config_dir).st_uid == os.geteuid()
    assert os.stat(nno.credentials).st_uid == os.geteuid()


@pytest.mark.parametrize(
    "modes",
    [(0o777, 0o666), (0o755, 0o600), (0o700, 0o644)],
    ids=["both", "folder", "file"],
)
def test_a_folder_or_file_open_to_others_is_tightened_with_a_warning(
    nno: Nno, iam: LocalIam, token: str, transcript: Transcript, modes: tuple[int, int]
) -> None:
    """Loose modes found at login become 0700/0600; stderr says which."""
    folder_mode, file_mode = modes
    os.mkdir(nno.config_dir)
    os.chmod(nno.config_dir, folder_mode)
    put_credentials(nno.credentials, transcript.new_token("old"), file_mode)

    done = nno.login(token, iam.url)

    assert done.exit_code == 0, done.stderr
    assert mode_of(nno.config_dir) == 0o700
    assert mode_of(nno.credentials) == 0o600
    warned = [line for line in done.messages if "tightened to" in line]
    assert all(line.startswith("⚠") for line in warned)
    loose = [
        path
        for path, mode in ((nno.config_dir, folder_mode), (nno.credentials, file_mode))
        if mode & 0o077
    ]
    assert [line.split(" was open")[0][2:] for line in warned] == loose
    assert stored(nno.credentials).token == token


@pytest.mark.parametrize("command", ["login", "whoami"])
def test_a_credential_file_that_is_a_symlink_is_refused_and_its_target_kept(
    nno: Nno, iam: LocalIam, token: str, tmp_path: Path, command: str
) -> None:
    """A link at credentials.json: exit 1, one line; the target is untouched."""
    target = tmp_path / "elsewhere.json"
    target.write_bytes(b"someone else's file\n")
    target.chmod(0o644)
    os.mkdir(nno.config_dir, 0o700)
    os.symlink(target, nno.credentials)

    done = nno.login(token, iam.url) if command == "login" else nno.run("whoami")

    assert done.exit_code == 1
    assert "symbolic link" in done.one_error_line()
    assert target.read_bytes() == b"someone else's file\n"
    assert mode_of(str(target)) == 0o644
    assert os.path.islink(nno.credentials)
    assert os.listdir(nno.config_dir) == ["credentials.json"]


def test_a_dangling_symlink_at_the_credential_file_is_refused_and_not_followed(
    nno: Nno, iam: LocalIam, token: str, tmp_path: Path
) -> None:
    """A link to nowhere: login fails and never creates the file it names."""
    target = tmp_path / "would-be-created.json"
    os.mkdir(nno.config_dir, 0o700)
    os.symlink(target, nno.credentials)

    done = nno.login(token, iam.url)

    assert done.exit_code == 1
    assert "symbolic link" in done.one_error_line()
    assert not target.exists()


def test_a_config_folder_that_is_a_symlink_is_refused_and_left_empty(
    nno: Nno, iam: LocalIam, token: str, tmp_path: Path
) -> None:
    """NNO_CONFIG_DIR naming a link to a folder: exit 1, nothing written there."""
    real = tmp_path / "real-folder"
    real.mkdir(mode=0o700)
    os.symlink(real, nno.config_dir)

    done = nno.login(token, iam.url)

    assert done.exit_code == 1
    assert "symbolic link" in done.one_error_line()
    assert os.listdir(real) == []


def test_a_folder_owned_by_another_user_is_refused(
    nno: Nno, iam: LocalIam, token: str, transcript: Transcript
) -> None:
    """A config folder chowned to nobody: exit 1, one line, the file unchanged."""
    if os.geteuid() != 0:
        pytest.skip("only root can give a folder away; the _euid test covers it")
    os.mkdir(nno.config_dir, 0o700)
    before = put_credentials(nno.credentials, transcript.new_token("theirs"))
    os.chown(nno.config_dir, NOBODY, NOBODY)
    os.chown(nno.credentials, NOBODY, NOBODY)

    done = nno.login(token, iam.url)

    assert done.exit_code == 1
    assert f"belongs to another user (uid {NOBODY})" in done.one_error_line()
    assert read_bytes(nno.credentials) == before
    assert os.listdir(nno.config_dir) == ["credentials.json"]


def test_a_folder_the_store_sees_as_another_users_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transcript: Transcript
) -> None:
    """Through the `_euid` seam, as any user: exit 1, the file unchanged."""
    config = str(tmp_path / "config")
    os.mkdir(config, 0o700)
    path = store.credentials_path(config)
    before = put_credentials(path, transcript.new_token("theirs"))
    fake_iam_for(monkeypatch)
    monkeypatch.setattr(store, "_euid", lambda: os.geteuid() + 1)

    token = transcript.new_token("token")
    ran = run_main(
        transcript, config, "login", "--token", token, "--iam-url", "http://127.0.0.1:9"
    )

    assert ran.exit_code == 1
    [line] = ran.messages
    assert f"belongs to another user (uid {os.geteuid()})" in line
    assert read_bytes(path) == before
