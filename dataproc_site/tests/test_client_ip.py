"""The client address for login lockouts: the right X-Forwarded-For hop, never one the client chose."""

import pytest
from django.test import RequestFactory

from dataproc_site.client_ip import client_ip


def request_from(peer: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/admin/login/", **extra)


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (1, "203.0.113.7", "203.0.113.7"),  # Cloud Run: the front end appended the client
        (1, "6.6.6.6, 1.2.3.4, 203.0.113.7", "203.0.113.7"),  # what the client wrote is ignored
        (2, "6.6.6.6, 203.0.113.7, 198.51.100.1", "203.0.113.7"),  # one more proxy appending
        (1, " 2001:DB8::1 ", "2001:db8::1"),
        (0, "203.0.113.7", "10.1.2.3"),  # nothing in front: the peer
        (2, "203.0.113.7", "10.1.2.3"),  # fewer hops than proxies: it did not come through them
        (1, "", "10.1.2.3"),
        (1, "not-an-address", "10.1.2.3"),
    ],
)
def test_the_client_is_the_trusted_proxy_count_th_entry_from_the_right(
    settings, trusted, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = trusted

    assert client_ip(request_from("10.1.2.3", forwarded)) == expected


def test_without_x_forwarded_for_the_peer_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_ip(request_from("10.1.2.3")) == "10.1.2.3"
