"""The `nno` command: parse, run one command, map its outcome to an exit code.

This module is the only place where a `Failure` becomes output and an exit
code, and where exceptions are caught for good. It imports only what every
command needs; `nno whoami` and `nno logout` never load httpx, structlog or
returns, which together would multiply their start-up time several times
over. The login machinery is imported inside the login command.
"""

from __future__ import annotations

import argparse
import sys

from nno import __version__
from nno.core import credentials as schema
from nno.core.failures import EXIT_FAILURE, EXIT_OK, Failure, cancelled
from nno.core.messages import error, info, success, warning
from nno.shell import secrets, store
from nno.shell.console import Console
from nno.shell.environment import Environment

TYPE_CHECKING = False  # mypy treats the name as true; importing typing costs time
if TYPE_CHECKING:
    from collections.abc import Sequence

    from nno.shell.log import Log
    from nno.shell.login import Reporter

# More than any token; reading stops there so a wrong file cannot fill memory.
_MAX_STDIN = 64 * 1024


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit 1, like every error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{_without_values(message)}. Run: {self.prog} --help")


def _without_values(message: str) -> str:
    """argparse's complaint, minus any value typed: it may be a misplaced token.

    `nno whoami --token T` or `nno login T` would otherwise echo T to the
    terminal; only option names are repeated back.
    """
    if message.startswith("unrecognized arguments:"):
        words = message.partition(":")[2].split()
        options = sorted({w.partition("=")[0] for w in words if w.startswith("-")})
        named = f": {' '.join(options)}" if options else ""
        return f"unrecognized arguments{named} (values not shown)"
    if message.startswith("argument COMMAND: invalid choice:"):
        choices = message.partition("(choose from ")[2].rstrip(")").replace("'", "")
        return f"unknown command (choose from {choices})"
    return message


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nno",
        description="Neutrino, the command-line client of the NNO platform.",
    )
    parser.add_argument("--version", action="version", version=f"nno {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    login = commands.add_parser(
        "login",
        help="log in to NNO (device authorization, or --token for CI)",
        description="Log in to NNO. Without --token (or NNO_API_TOKEN), opens a "
        "device login: approve the shown code in a browser.",
    )
    login.add_argument(
        "--token",
        metavar="TOKEN",
        help="store an API token instead of logging in interactively; "
        "'-' reads it from standard input, out of sight of ps and shell history",
    )
    login.add_argument(
        "--iam-url",
        metavar="URL",
        help="IAM base URL (default: $NNO_IAM_URL, else https://iam.svc.nno.app)",
    )
    login.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per event on stdout, for scripts",
    )
    login.add_argument(
        "--no-browser",
        action="store_true",
        help="do not open a browser, only show the URL and code "
        "(also NNO_NO_BROWSER=1)",
    )
    login.add_argument(
        "--qr",
        action=argparse.BooleanOptionalAction,
        help="draw the approval URL as a QR code (--no-qr: never; default: when "
        "no browser was opened and a terminal shows the output)",
    )
    _add_verbose(login)

    whoami = commands.add_parser(
        "whoami",
        help="show who is logged in (reads the stored file only)",
        description="Show the stored login: user, platform, role, IAM, expiry.",
    )
    whoami.add_argument(
        "--json", action="store_true", help="print the profile as one JSON object"
    )

    logout = commands.add_parser(
        "logout",
        help="sign out and clear the stored credentials",
        description="Clear the stored credentials; a device login is also signed "
        "out at IAM.",
    )
    _add_verbose(logout)

    completion = commands.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script for nno's commands and options.",
        epilog="To install it:\n"
        "  bash:  echo 'eval \"$(nno completion bash)\"' >> ~/.bashrc\n"
        "  zsh:   echo 'eval \"$(nno completion zsh)\"' >> ~/.zshrc"
        "   (after compinit)\n"
        "  fish:  nno completion fish > ~/.config/fish/completions/nno.fish",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    completion.add_argument(
        "shell",
        metavar="SHELL",
        choices=("bash", "zsh", "fish"),
        help="bash, zsh or fish",
    )
    return parser


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="structured debug logs on stderr (also NNO_LOG_LEVEL=debug)",
    )


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    env = env or Environment.from_process()
    console = Console(env.stdout, env.stderr, env.environ)
    try:
        outcome = _run(env, console, list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        outcome = cancelled()
    except BrokenPipeError:
        # The reader went away (`nno whoami | head -0`): nothing left to tell.
        return EXIT_FAILURE
    except Exception as exc:  # the last line of defence: never a bare traceback
        outcome = _unexpected(env, exc)
    if isinstance(outcome, Failure):
        console.show(error(outcome.text))
        return outcome.exit_code
    return outcome


def _unexpected(env: Environment, exc: Exception) -> Failure:
    if env.flag("NNO_DEBUG"):
        import traceback

        text = "".join(traceback.format_exception(exc))
        env.stderr.write(secrets.redact(text))
    return Failure(
        "internal_error",
        f"nno failed unexpectedly ({exc.__class__.__name__}). Re-run with "
        "NNO_DEBUG=1 to see why, and report it",
    )


def _run(env: Environment, console: Console, argv: list[str]) -> int | Failure:
    # argparse prints --help and --version to sys.stdout itself; point that at
    # this command's stdout for the moment it parses.
    saved, sys.stdout = sys.stdout, env.stdout
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as exc:
        return Failure("usage", str(exc))
    except SystemExit as exc:  # --help and --version print, then end here
        return int(exc.code or 0)
    finally:
        sys.stdout = saved
    if args.command == "whoami":
        return whoami(env, console, as_json=args.json)
    if args.command == "logout":
        return logout(env, console, verbose=args.verbose)
    if args.command == "login":
        return login(env, args)
    if args.command == "completion":
        from nno.shell.completion import script

        env.stdout.write(script(args.shell, build_parser()))
        return EXIT_OK
    build_parser().print_help(env.stdout)
    return EXIT_OK


# whoami --------------------------------------------------------------------------


def whoami(env: Environment, console: Console, *, as_json: bool) -> int | Failure:
    path = store.credentials_path(store.config_dir(env.environ))
    raw = store.read(path)
    if isinstance(raw, Failure):
        return raw
    if raw is None:
        if as_json:
            _print_json(env, {"loggedIn": False, "credentialsFile": path})
        return Failure("not_logged_in", "Not logged in. Run: nno login")
    credentials = schema.parse(raw, path)
    if isinstance(credentials, Failure):
        return credentials
    secrets.remember(credentials.token)
    secrets.remember(credentials.refresh_token)
    now = env.now()
    if as_json:
        view = schema.public_view(credentials, now)
        _print_json(env, {"loggedIn": True, **view, "credentialsFile": path})
    report = schema.whoami(credentials, now)
    if isinstance(report, Failure):
        return report
    if not as_json:
        console.show_all(report)
    return EXIT_OK


def _print_json(env: Environment, document: dict[str, object]) -> None:
    import json

    env.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    env.stdout.flush()


# logout --------------------------------------------------------------------------


def logout(env: Environment, console: Console, *, verbose: bool) -> int | Failure:
    directory = store.config_dir(env.environ)
    path = store.credentials_path(directory)
    raw = store.read(path)
    credentials = schema.parse(raw, path) if isinstance(raw, bytes) else None
    if (
        isinstance(credentials, schema.Credentials)
        and credentials.login_method == "device"
    ):
        problem = _revoke(env, credentials, verbose)
        if problem is not None:
            console.show(warning(problem))
    cleared = store.clear(path)
    if isinstance(cleared, Failure):
        return cleared
    if raw is None:
        console.show(info("Not logged in; nothing to clear."))
    elif isinstance(credentials, schema.Credentials):
        console.show(success(f"Logged out {credentials.email}."))
    else:
        console.show(success("Cleared the stored credentials."))
    return EXIT_OK


def _revoke(
    env: Environment, credentials: schema.Credentials, verbose: bool
) -> str | None:
    """Sign a device-flow session out at IAM; a problem text if that failed.

    Only here does logout pay for the network stack; tokens stored with
    --token belong to a pipeline and are never revoked.
    """
    from nno.core.iam import read_sign_out, sign_out_request
    from nno.shell.login import open_client

    secrets.remember(credentials.token)
    log = _make_log(env, verbose)
    if isinstance(log, Failure):
        log = _make_log(env, False)
    assert not isinstance(log, Failure)
    client = open_client(env, credentials.iam_url, log)
    if isinstance(client, Failure):
        return client.text
    try:
        answer = client.send(sign_out_request(credentials.token), timeout=3.0)
    finally:
        client.close()
    problem = read_sign_out(answer)
    if problem is None:
        return None
    return (
        f"Could not sign the session out at {credentials.iam_url} ({problem}); "
        f"it may stay valid until {schema.format_timestamp(credentials.expires_at)}. "
        "The local credentials are cleared anyway"
    )


# login ---------------------------------------------------------------------------


def _make_log(env: Environment, verbose: bool) -> Log | Failure:
    from nno.shell.log import log_level, make_log

    level = log_level(verbose, env.environ)
    if isinstance(level, Failure):
        return level
    return make_log(level, env.environ, env.stderr)


def login(env: Environment, args: argparse.Namespace) -> int | Failure:
    from nno.shell.login import Reporter

    reporter = Reporter(env, as_json=args.json)
    try:
        outcome = _login(env, args, reporter)
    except KeyboardInterrupt:
        outcome = cancelled()
    if isinstance(outcome, Failure):
        reporter.failed(outcome)
        return outcome
    return EXIT_OK


def _login(
    env: Environment, args: argparse.Namespace, reporter: Reporter
) -> Failure | None:
    from nno.shell import login as flows
    from nno.shell.outcome import settle

    log = _make_log(env, args.verbose)
    if isinstance(log, Failure):
        return log
    iam_url = settle(flows.resolve_url(env, args.iam_url))
    if isinstance(iam_url, Failure):
        return iam_url
    # Registered before any check, so no later error or trace can show them.
    secrets.remember(args.token)
    secrets.remember(env.environ.get("NNO_API_TOKEN"))
    if args.token == "-":  # noqa: S105 - the flag's value for standard input
        raw = _read_token_from_stdin(env)
        if isinstance(raw, Failure):
            return raw
        secrets.remember(raw.strip())
        return flows.token_login(
            env,
            reporter=reporter,
            log=log,
            iam_url=iam_url,
            raw_token=raw,
            source="the token from standard input",
        )
    if args.token is not None:
        return flows.token_login(
            env,
            reporter=reporter,
            log=log,
            iam_url=iam_url,
            raw_token=args.token,
            source="--token",
        )
    # SPEC: a non-empty NNO_API_TOKEN selects token mode too.
    from_environment = env.environ.get("NNO_API_TOKEN", "")
    if from_environment:
        return flows.token_login(
            env,
            reporter=reporter,
            log=log,
            iam_url=iam_url,
            raw_token=from_environment,
            source="NNO_API_TOKEN",
        )
    from nno.shell.device_login import device_login

    return device_login(
        env, reporter, log, iam_url, no_browser=args.no_browser, qr=args.qr
    )


def _read_token_from_stdin(env: Environment) -> str | Failure:
    try:
        if env.stdin.isatty():
            import getpass

            # Typed at a terminal: not echoed, like a password.
            return getpass.getpass("Token: ", stream=env.stderr)
        raw = env.stdin.read(_MAX_STDIN + 1)
    except UnicodeDecodeError:
        return Failure(
            "bad_token",
            "Standard input is not UTF-8 text. Pipe the token alone, "
            "for example: printenv NNO_TOKEN | nno login --token -",
        )
    except (OSError, ValueError):
        return Failure(
            "bad_token",
            "Cannot read the token from standard input. Pipe it in, "
            "for example: printenv NNO_TOKEN | nno login --token -",
        )
    if len(raw) > _MAX_STDIN:
        return Failure(
            "bad_token",
            "Standard input is far longer than a token. Pipe the token alone",
        )
    return raw
