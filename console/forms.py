"""Forms for the console: the log browser's filters and the replay requests.

Every value a client sends is validated here before it reaches the store: ids
must be identifiers (they become Firestore path segments), statuses must be
known ones, and time ranges must be in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from django import forms
from django.core.exceptions import ValidationError

from core.identifiers import identifier_error
from tenants.stores import STATUS_DEAD_LETTERED, STATUS_PROCESSED, STATUS_RETRYING

STATUS_LABELS = {
    STATUS_PROCESSED: "Processed",
    STATUS_RETRYING: "Retrying",
    STATUS_DEAD_LETTERED: "Dead-lettered",
}
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
]
# "tenant_id/log_id": "/" never occurs in an identifier, so the split is unambiguous.
SELECTION_SEPARATOR = "/"


def validate_identifier(value: str) -> None:
    error = identifier_error(value, "id")
    if error:
        raise ValidationError(error)


class UTCDateTimeField(forms.DateTimeField):
    """A ``datetime-local`` input read as UTC, the time zone every console page shows."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S")

    def __init__(self, **kwargs) -> None:
        super().__init__(input_formats=DATETIME_INPUT_FORMATS, **kwargs)

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class LogFilterForm(forms.Form):
    """The log browser's query string (GET): text, status, one log id, a received-at range."""

    q = forms.CharField(
        label="Text contains",
        required=False,
        max_length=200,
        help_text="In the redacted text, any case.",
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), *STATUS_LABELS.items()],
        required=False,
    )
    log_id = forms.CharField(
        label="Log id (exact)",
        required=False,
        max_length=128,
        validators=[validate_identifier],
    )
    received_after = UTCDateTimeField(label="Received from (UTC)", required=False)
    received_before = UTCDateTimeField(label="Received before (UTC)", required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        after, before = cleaned.get("received_after"), cleaned.get("received_before")
        if after and before and after >= before:
            raise ValidationError("“Received from” must be earlier than “Received before”.")
        return cleaned

    @property
    def is_filtered(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.values())


@dataclass(frozen=True)
class LogRef:
    tenant_id: str
    log_id: str

    @property
    def token(self) -> str:
        return f"{self.tenant_id}{SELECTION_SEPARATOR}{self.log_id}"


def parse_log_ref(token: str) -> LogRef:
    tenant_id, separator, log_id = token.partition(SELECTION_SEPARATOR)
    if not separator or identifier_error(tenant_id, "tenant_id") or identifier_error(log_id, "log_id"):
        raise ValidationError(f"“{token}” does not name a log.")
    return LogRef(tenant_id, log_id)


class LogRefsField(forms.Field):
    """A list of "tenant_id/log_id" tokens (checkboxes or hidden inputs sharing one name)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"required": "Select at least one log to replay."}

    def __init__(self, *, max_count: int, **kwargs) -> None:
        self.max_count = max_count
        super().__init__(**kwargs)

    def to_python(self, value) -> list[LogRef]:
        if not value:
            return []
        if not isinstance(value, list | tuple):
            raise ValidationError("Expected a list of logs.")
        if len(value) > self.max_count:
            raise ValidationError(f"Replay at most {self.max_count} logs at once.")
        refs = [parse_log_ref(str(token)) for token in value]
        return list(dict.fromkeys(refs))  # each log once, in the order given


class ReplaySelectedForm(forms.Form):
    """POST from the dead-letter lists and the detail page: the logs to put back on the queue.

    Access to each log's tenant is checked by the view, not here.
    """

    MAX_SELECTED = 500

    selected = LogRefsField(max_count=MAX_SELECTED)
    next = forms.CharField(required=False)


class EraseLogsForm(forms.Form):
    """POST from the erase confirmation page: a received-at range, or every log of the tenant."""

    received_after = UTCDateTimeField(label="Received from (UTC)", required=False)
    received_before = UTCDateTimeField(label="Received before (UTC)", required=False)
    everything = forms.BooleanField(label="Every log of this tenant, whenever received", required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        after, before = cleaned.get("received_after"), cleaned.get("received_before")
        if self.errors:
            return cleaned
        if cleaned.get("everything") and (after or before):
            raise ValidationError("Either a range or every log: clear the range to erase every log.")
        if not cleaned.get("everything") and not (after or before):
            raise ValidationError("Choose a received-at range, or tick “Every log of this tenant”.")
        if after and before and after >= before:
            raise ValidationError("“Received from” must be earlier than “Received before”.")
        return cleaned
