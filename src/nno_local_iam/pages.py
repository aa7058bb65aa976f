"""The activation page a person opens in a browser, and the page that answers it."""

from __future__ import annotations

from html import escape

_STYLE = """
body { margin: 0; min-height: 100vh; display: grid; place-items: center;
       font: 16px/1.5 system-ui, sans-serif; background: #f4f5f7; color: #1c2330; }
main { background: #fff; padding: 2rem 2.5rem; border-radius: 12px;
       box-shadow: 0 2px 16px rgb(0 0 0 / 8%); width: min(24rem, 90vw); }
h1 { font-size: 1.35rem; margin: 0 0 .5rem; }
label { display: block; font-weight: 600; margin: 1rem 0 .25rem; }
input { box-sizing: border-box; width: 100%; padding: .6rem .75rem;
        font: 1.25rem ui-monospace, monospace; letter-spacing: .15em;
        text-transform: uppercase; border: 1px solid #c4c9d2; border-radius: 8px; }
.actions { display: flex; gap: .75rem; margin-top: 1.25rem; }
button { flex: 1; padding: .6rem; font: inherit; font-weight: 600; border: 0;
         border-radius: 8px; cursor: pointer; background: #2450d8; color: #fff; }
button.deny { background: #e9ebef; color: #1c2330; }
.note { color: #5b6475; font-size: .875rem; margin-top: 1.25rem; }
.error { color: #b42318; }
"""

# Served with every page: no scripts, no framing (the approve button must not
# be clickjacked), and forms may only post back to this server.
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)


def _page(title: str, body: str) -> bytes:
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} · NNO local IAM</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    ).encode()


def activation_form(
    user_code: str, signed_in_as: str, error: str | None = None
) -> bytes:
    """The form: a code field (prefilled when the link carried one), Approve, Deny."""
    problem = f'<p class="error">{escape(error)}</p>\n' if error else ""
    body = (
        "<h1>Activate a device</h1>\n"
        "<p>Enter the code shown in your terminal.</p>\n"
        f"{problem}"
        '<form method="post" action="/activate">\n'
        '<label for="user_code">Code</label>\n'
        f'<input id="user_code" name="user_code" value="{escape(user_code)}" '
        'required maxlength="32" autocomplete="off" spellcheck="false" autofocus>\n'
        '<div class="actions">\n'
        '<button type="submit" name="action" value="approve">Approve</button>\n'
        '<button type="submit" name="action" value="deny" class="deny">Deny</button>\n'
        "</div>\n</form>\n"
        f'<p class="note">Signed in as {escape(signed_in_as)} on the local IAM.</p>'
    )
    return _page("Activate a device", body)


def outcome_page(approved: bool) -> bytes:
    """What the person sees once the code was approved or denied."""
    if approved:
        title = "Device approved"
        text = "You can close this page and return to your terminal."
    else:
        title = "Request denied"
        text = "The device was not signed in. You can close this page."
    return _page(title, f"<h1>{title}</h1>\n<p>{text}</p>")


def forbidden_page() -> bytes:
    text = "This form can only be sent from the local IAM's own page."
    return _page("Refused", f"<h1>Refused</h1>\n<p>{text}</p>")
