"""``python -m nno_local_iam``: run the local IAM until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

from nno_local_iam.script import Scripted, parse_answer
from nno_local_iam.server import LocalIam, is_loopback


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM ends the wait the way Ctrl-C does, so both exit 0 quietly.
    raise KeyboardInterrupt


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be between 0 and 65535")
    return value


def _answers(text: str) -> list[Scripted]:
    try:
        return [parse_answer(item) for item in text.split(",") if item.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nno_local_iam",
        description="A local IAM that speaks the NNO IAM's device-login contract.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument(
        "--port", type=_port, default=8765, help="0 picks a free one (default 8765)"
    )
    parser.add_argument(
        "--interval",
        type=_positive,
        default=5.0,
        metavar="N",
        help="poll interval in seconds (default 5)",
    )
    parser.add_argument(
        "--expires-in",
        type=_positive,
        default=1800.0,
        metavar="N",
        help="device code lifetime in seconds (default 1800)",
    )
    parser.add_argument(
        "--approve-after", type=_seconds, metavar="S", help="auto-approve after S s"
    )
    parser.add_argument(
        "--deny-after", type=_seconds, metavar="S", help="auto-deny after S s"
    )
    parser.add_argument(
        "--accept-form-body",
        action="store_true",
        help="token endpoint takes form bodies (standard RFC 8628) instead of 415",
    )
    parser.add_argument(
        "--refresh-tokens", action="store_true", help="issue refresh tokens"
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="TOKEN=EMAIL",
        help="seed an API token for a user (repeatable)",
    )
    for endpoint in ("token", "device-code", "session"):
        parser.add_argument(
            f"--script-{endpoint}",
            type=_answers,
            action="extend",
            default=[],
            metavar="A,B,...",
            help=f"scripted answers for the {endpoint} endpoint, in order",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        parser.error(f"refusing to listen on {args.host}: loopback addresses only")
    seeded: list[tuple[str, str]] = []
    for item in args.token:
        token, _, email = item.rpartition("=")
        if not token or not email:
            parser.error("--token takes TOKEN=EMAIL")
        seeded.append((token, email))

    iam = LocalIam(
        host=args.host,
        port=args.port,
        interval=args.interval,
        expires_in=args.expires_in,
        approve_after=args.approve_after,
        deny_after=args.deny_after,
        token_accepts_form=args.accept_form_body,
        issue_refresh_token=args.refresh_tokens,
    )
    try:
        for token, email in seeded:
            iam.add_token(token, email=email)
        iam.script_token(*args.script_token)
        iam.script_device_code(*args.script_device_code)
        iam.script_session(*args.script_session)
    except ValueError as error:
        parser.error(str(error))

    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            iam.start()
        except OSError as error:
            reason = error.strerror or str(error)
            print(
                f"local IAM: cannot listen on {args.host}:{args.port}: {reason}",
                file=sys.stderr,
            )
            return 1
        print(f"local IAM listening on {iam.url}", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        iam.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
