"""Reading the device code answer (RFC 8628 §3.1, §3.2) and the first poll."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from returns.methods import unwrap_or_failure

from nno.core import device_flow as flow
from nno.core.failures import Failure
from nno.core.iam import Encoding, NetworkFailure, Response

from .fakes import IAM_URL
from .strategies import (
    DeviceCodeOffer,
    ExpectedCode,
    Raw,
    device_code_answers_that_are_not_objects,
    device_code_offers,
    unusable_numbers,
)

encodings: st.SearchStrategy[Encoding] = st.sampled_from(["form", "json"])

# A whole number beyond any float: Hypothesis found that reading one crashed
# the core (OverflowError in `positive_number`); it now counts as unusable.
BEYOND_FLOATS = "1" + "0" * 309


def _offer(expires_in: str, interval: str) -> DeviceCodeOffer:
    body = (
        '{"device_code": "dc", "user_code": "UC", "verification_uri": "https://v.t", '
        f'"expires_in": {expires_in}, "interval": {interval}}}'
    )
    code = ExpectedCode("dc", "UC", "https://v.t", None, 600.0, 5.0)
    return DeviceCodeOffer(Response(200, {}, body.encode()), code, ())


@given(device_code_offers(), encodings)
def test_good_answer_gives_the_device_code_the_oracle_reads(
    offer: DeviceCodeOffer, encoding: Encoding
) -> None:
    """A good 2xx answer gives exactly the code, lifetime and interval IAM sent."""
    outcome = unwrap_or_failure(flow.read_device_code(offer.answer, encoding, IAM_URL))

    assert offer.code is not None
    assert isinstance(outcome, flow.DeviceCode)
    assert outcome.device_code == offer.code.device_code
    assert outcome.user_code == offer.code.user_code
    assert outcome.verification_uri == offer.code.verification_uri
    assert outcome.verification_uri_complete == offer.code.verification_uri_complete
    assert outcome.expires_in == offer.code.expires_in
    assert outcome.interval == offer.code.interval


@given(device_code_offers(faulty=True), encodings)
@example(
    offer=DeviceCodeOffer(_offer(BEYOND_FLOATS, "5").answer, None, ("expires_in",)),
    encoding="form",
)
@example(  # JSON's true is no number, even though Python's float(True) is 1.0
    offer=DeviceCodeOffer(_offer("true", "5").answer, None, ("expires_in",)),
    encoding="form",
)
def test_broken_answer_is_refused_naming_a_broken_field(
    offer: DeviceCodeOffer, encoding: Encoding
) -> None:
    """A 2xx answer with a missing, null, unshowable or mistyped field names one."""
    outcome = unwrap_or_failure(flow.read_device_code(offer.answer, encoding, IAM_URL))

    assert isinstance(outcome, Failure)
    assert outcome.reason == "unexpected_answer"
    assert outcome.exit_code == 1
    assert any(f"'{name}'" in outcome.text for name in offer.faults), outcome.text


@given(device_code_answers_that_are_not_objects(), encodings)
def test_answer_that_is_not_a_json_object_is_refused(
    offer: DeviceCodeOffer, encoding: Encoding
) -> None:
    """A 2xx body that is not a whole JSON object is a clear error, not a crash."""
    outcome = unwrap_or_failure(flow.read_device_code(offer.answer, encoding, IAM_URL))

    assert isinstance(outcome, Failure)
    assert outcome.reason == "unexpected_answer"
    assert outcome.text.startswith("IAM's device code answer ")


@given(
    st.integers().filter(lambda status: not 200 <= status < 300), encodings, st.binary()
)
def test_other_status_is_refused_naming_it(
    status: int, encoding: Encoding, body: bytes
) -> None:
    """A non-2xx answer (but a 415 to a form) says the endpoint is not available."""
    answer = Response(status, {}, body)
    outcome = unwrap_or_failure(flow.read_device_code(answer, encoding, IAM_URL))

    if status == 415 and encoding == "form":
        assert outcome == flow.ResendAsJson()
    else:
        assert isinstance(outcome, Failure)
        assert outcome.reason == "device_endpoint_unavailable"
        assert f"({status})" in outcome.text


@given(st.text())
def test_unreachable_iam_names_its_url_and_the_way_out(reason: str) -> None:
    """No answer at all names the IAM URL and suggests --token."""
    answer = NetworkFailure(reason)
    outcome = unwrap_or_failure(flow.read_device_code(answer, "form", IAM_URL))

    assert isinstance(outcome, Failure)
    assert outcome.reason == "network"
    assert IAM_URL in outcome.text
    assert "Use --token" in outcome.text


@given(device_code_offers(intervals=st.none() | unusable_numbers()))
@example(offer=_offer("600", BEYOND_FLOATS))
@example(offer=_offer("600", "true"))
def test_missing_or_unusable_interval_means_five_seconds(
    offer: DeviceCodeOffer,
) -> None:
    """RFC 8628 §3.2: without a usable interval the client polls every 5 s."""
    outcome = unwrap_or_failure(flow.read_device_code(offer.answer, "form", IAM_URL))

    assert isinstance(outcome, flow.DeviceCode)
    assert outcome.interval == 5.0


@given(
    device_code_offers(
        intervals=st.floats(0.0, 1.0, exclude_max=True).map(lambda x: Raw(repr(x)))
    )
)
def test_interval_under_a_second_means_five_seconds(offer: DeviceCodeOffer) -> None:
    """An interval below one second would hammer IAM, so the default is used."""
    outcome = unwrap_or_failure(flow.read_device_code(offer.answer, "form", IAM_URL))

    assert isinstance(outcome, flow.DeviceCode)
    assert outcome.interval == 5.0


@given(device_code_offers(), encodings)
def test_first_poll_waits_one_interval_within_the_deadline(
    offer: DeviceCodeOffer, encoding: Encoding
) -> None:
    """The first poll waits the interval, in the encoding that reached IAM."""
    code = unwrap_or_failure(flow.read_device_code(offer.answer, encoding, IAM_URL))
    assert isinstance(code, flow.DeviceCode)
    assert offer.code is not None

    action = unwrap_or_failure(flow.start_polling(code, encoding))

    deadline = min(300.0, offer.code.expires_in)
    if offer.code.interval > deadline:
        assert isinstance(action, Failure)
        assert action.text in (
            "Code expired. Run: nno login",
            "Login timed out. Run: nno login",
        )
    else:
        assert isinstance(action, flow.PollAfter)
        assert action.seconds == offer.code.interval
        assert action.reason == "first_poll"
        assert action.state.encoding == encoding
        assert action.state.deadline == deadline


@given(device_code_offers())
def test_prompt_shows_the_uri_and_the_code_as_iam_sent_them(
    offer: DeviceCodeOffer,
) -> None:
    """The prompt carries verification_uri and user_code unchanged, in that order."""
    code = unwrap_or_failure(flow.read_device_code(offer.answer, "form", IAM_URL))
    assert isinstance(code, flow.DeviceCode)

    messages = flow.prompt(code)

    assert [message.kind for message in messages] == ["info", "info", "code", "info"]
    assert messages[1].text == code.verification_uri
    assert messages[2].text == code.user_code
