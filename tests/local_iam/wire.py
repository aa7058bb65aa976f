"""A hand-written HTTP client of the local IAM, for its own tests."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from nno_local_iam import LocalIam

# Short enough that a test waiting out a poll interval stays fast, long enough
# that two requests sent back to back reliably fall inside it.
FAST = 0.1
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"


# A TLS context with no CA loaded: certificates are still required, so any
# HTTPS would fail, and we speak only HTTP; it spares loading the CA bundle
# for every client, which costs more than a whole test here.
_NO_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def client(base_url: str, timeout: float = 2.0) -> httpx.Client:
    """An HTTP client that talks to the local IAM and nothing else."""
    # trust_env=False: no proxy from the environment may sit in between.
    return httpx.Client(
        base_url=base_url, trust_env=False, verify=_NO_TLS, timeout=timeout
    )


class Wire:
    """A hand-written client of one local IAM, one method per endpoint."""

    def __init__(self, iam: LocalIam) -> None:
        self.iam = iam
        self.http = client(iam.url)

    def close(self) -> None:
        self.http.close()

    def device_code(
        self, *, as_json: bool = False, client_id: str = "nno-cli"
    ) -> httpx.Response:
        fields = {"client_id": client_id}
        if as_json:
            return self.http.post("/oauth/device/code", json=fields)
        return self.http.post("/oauth/device/code", data=fields)

    def new_code(self) -> dict[str, Any]:
        response = self.device_code()
        assert response.status_code == 200
        payload: dict[str, Any] = response.json()
        return payload

    def poll(
        self, device_code: str, *, form: bool = False, timeout: float = 2.0
    ) -> httpx.Response:
        fields = {
            "grant_type": GRANT_TYPE,
            "device_code": device_code,
            "client_id": "nno-cli",
        }
        if form:
            return self.http.post("/oauth/device/token", data=fields, timeout=timeout)
        return self.http.post("/oauth/device/token", json=fields, timeout=timeout)

    def session(self, token: str, *, timeout: float = 2.0) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return self.http.get("/oauth/get-session", headers=headers, timeout=timeout)

    def sign_out(self, token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return self.http.post("/oauth/sign-out", headers=headers)
