"""A corrupt or foreign credential file: reported, kept, never silently replaced."""

from __future__ import annotations

import json
import os
import re

import pytest

from nno_local_iam import LocalIam
from tests.reliability.support import (
    Nno,
    Transcript,
    mode_of,
    read_bytes,
    stored,
    temp_files,
)
from tests.support.fakes import credentials_document

STORED_TOKEN = "nno_rel_stored_token_0123456789abcdef"
FOREIGN_TOKEN = "nno_rel_foreign_token_0123456789abcdef"
MIB = 1024 * 1024


def _json(**overrides: object) -> bytes:
    document = credentials_document(**{"token": STORED_TOKEN, **overrides})
    return json.dumps(document, indent=2).encode()


VALID = _json()
CORRUPT = {
    "empty": b"",
    "blank": b"  \n\t\n",
    "not_json": b"token = abc\n",
    "not_utf8": b"\xff\xfe{\x00\x00",
    "nul_bytes": b"\x00" * 64,
    "json_array": b"[]",
    "json_null": b"null",
    "json_string": json.dumps(STORED_TOKEN).encode(),
    "cut_in_half": VALID[: len(VALID) // 2],
    "missing_token": _json(token=...),
    "token_not_a_string": _json(token=42),
    "empty_token": _json(token=""),
    "wrong_audience": _json(audience="another-cli"),
    "bad_expiry": _json(expiresAt="next tuesday"),
    "unknown_login_method": _json(loginMethod="password"),
    "deeply_nested": b"[" * 100_000,
    "byte_order_mark": b"\xef\xbb\xbf" + VALID,
    "over_one_mebibyte": VALID[:-1] + b" " * (2 * MIB) + b"}",
    "another_apps_file": json.dumps({"access_token": FOREIGN_TOKEN}).encode(),
}
BACKUP = re.compile(r"credentials\.json\.unreadable-\d{8}T\d{6}Z(-\d+)?")


@pytest.fixture
def corrupt(nno: Nno, transcript: Transcript, request: pytest.FixtureRequest) -> bytes:
    """The case's bytes at the credential path, mode 0644 to see it kept."""
    transcript.secret(STORED_TOKEN, "the stored token")
    transcript.secret(FOREIGN_TOKEN, "a foreign token")
    data: bytes = CORRUPT[request.param]
    os.mkdir(nno.config_dir, 0o700)
    with open(nno.credentials, "wb") as file:
        file.write(data)
    os.chmod(nno.credentials, 0o644)
    return data


@pytest.mark.parametrize("corrupt", CORRUPT, indirect=True)
def test_whoami_reports_an_unreadable_file_and_leaves_it_as_it_was(
    nno: Nno, corrupt: bytes
) -> None:
    """whoami: exit 1, one line naming the file and the fix; file unchanged."""
    before = os.stat(nno.credentials)

    done = nno.run("whoami")

    assert done.exit_code == 1
    line = done.one_error_line()
    assert f"Cannot read credentials at {nno.credentials}" in line
    assert "nno logout" in line
    assert read_bytes(nno.credentials) == corrupt
    after = os.stat(nno.credentials)
    assert (after.st_mtime_ns, after.st_mode) == (before.st_mtime_ns, before.st_mode)
    assert os.listdir(nno.config_dir) == ["credentials.json"]


@pytest.mark.parametrize("corrupt", CORRUPT, indirect=True)
def test_login_moves_an_unreadable_file_aside_before_writing_the_new_one(
    nno: Nno, iam: LocalIam, token: str, corrupt: bytes
) -> None:
    """login: the old bytes kept under a dated name at 0600, a new file beside."""
    done = nno.login(token, iam.url)

    assert done.exit_code == 0, done.stderr
    [backup] = [e for e in os.listdir(nno.config_dir) if e != "credentials.json"]
    assert BACKUP.fullmatch(backup), backup
    kept = os.path.join(nno.config_dir, backup)
    assert read_bytes(kept) == corrupt
    assert mode_of(kept) == 0o600
    assert done.messages == [
        f"⚠ The unreadable credential file was moved aside to {kept}"
    ]
    assert stored(nno.credentials).token == token
    assert temp_files(nno.config_dir) == []


@pytest.mark.parametrize("command", ["whoami", "login"])
def test_a_folder_at_the_credential_path_is_reported_and_left_alone(
    nno: Nno, iam: LocalIam, token: str, command: str
) -> None:
    """credentials.json is a folder: exit 1, one line, the folder still there."""
    os.makedirs(os.path.join(nno.credentials, "inside"))

    done = nno.login(token, iam.url) if command == "login" else nno.run("whoami")

    assert done.exit_code == 1
    assert "it is a folder, not a file" in done.one_error_line()
    assert os.listdir(nno.credentials) == ["inside"]
