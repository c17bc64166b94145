"""pipeline.handle: simulated work proportional to the text, then redaction; demo failures."""

from unittest import mock

import pytest
from django.test import override_settings

from processing import pipeline
from processing.tests.conftest import make_envelope

# The work reads the tenant's redaction policy from the registry.
pytestmark = pytest.mark.django_db


def test_it_returns_the_redacted_text():
    assert pipeline.handle(make_envelope("User 555-0199 accessed the system")).modified_data == (
        "User [REDACTED] accessed the system"
    )


def test_string_attributes_are_redacted_like_the_text_and_others_kept():
    envelope = make_envelope("login", attributes={"caller": "555-0199", "status": 200, "host": "web-1"})

    assert pipeline.handle(envelope).attributes == {"caller": "[REDACTED]", "status": 200, "host": "web-1"}


@override_settings(PROCESSING_DELAY_PER_CHAR=0.05)
def test_it_sleeps_the_specified_time_per_character():
    with mock.patch("processing.pipeline.time.sleep") as sleep:
        pipeline.handle(make_envelope("x" * 100))

    sleep.assert_called_once_with(pytest.approx(5.0))


@override_settings(PROCESSING_DELAY_PER_CHAR=0)
def test_it_does_not_sleep_when_the_delay_is_off():
    with mock.patch("processing.pipeline.time.sleep") as sleep:
        pipeline.handle(make_envelope("x" * 100))

    sleep.assert_not_called()


@override_settings(PROCESSING_DEMO_FAILURES=True)
def test_a_demo_marker_fails_the_first_n_attempts_only():
    envelope = make_envelope("flaky [demo:fail=2] 555-0199")

    for attempt in (1, 2):
        with pytest.raises(pipeline.DemoFailure):
            pipeline.handle(envelope, attempt=attempt)

    assert pipeline.handle(envelope, attempt=3).modified_data == "flaky [demo:fail=2] [REDACTED]"


@override_settings(PROCESSING_DEMO_FAILURES=True)
def test_a_demo_always_marker_fails_every_attempt():
    with pytest.raises(pipeline.DemoFailure):
        pipeline.handle(make_envelope("[demo:fail=always]"), attempt=50)


@override_settings(PROCESSING_DEMO_FAILURES=False)
def test_demo_markers_do_nothing_when_demo_failures_are_off():
    assert (
        pipeline.handle(make_envelope("[demo:fail=always]"), attempt=1).modified_data == "[demo:fail=always]"
    )


def test_demo_failures_are_off_in_production_settings():
    from django.conf import settings

    # test_settings run with DJANGO_DEBUG off, exactly like production.
    assert settings.DEBUG is False
    assert settings.PROCESSING_DEMO_FAILURES is False
