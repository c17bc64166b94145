"""Sessions, users and messages on the routes people use; the stateless API routes go without them."""

import re

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, path
from django.views.decorators.csrf import csrf_exempt

pytestmark = pytest.mark.django_db

seen: dict[str, object] = {}


def spy(request):
    seen["session"] = hasattr(request, "session")
    seen["user"] = hasattr(request, "user")
    seen["messages"] = hasattr(request, "_messages")
    return HttpResponse("ok")


def spy_unsafe(request):
    return HttpResponse("changed")


urlpatterns = [
    path("ingest", csrf_exempt(spy)),
    path("logs/abc", spy_unsafe),
    path("admin/spy", spy),
]


@pytest.fixture
def spy_routes():
    seen.clear()
    with override_settings(ROOT_URLCONF=__name__):
        yield


def test_a_stateless_route_gets_no_session_user_or_messages(client, spy_routes):
    response = client.post("/ingest", data="{}", content_type="application/json")

    assert response.status_code == 200
    assert seen == {"session": False, "user": False, "messages": False}
    assert "sessionid" not in response.cookies


def test_every_other_route_gets_django_s_session_user_and_messages(client, spy_routes):
    client.get("/admin/spy")

    assert seen == {"session": True, "user": True, "messages": True}


def test_csrf_still_refuses_an_unsafe_request_without_a_token_on_a_stateless_route(spy_routes):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/logs/abc", data="{}", content_type="application/json")

    assert response.status_code == 403


def test_a_changed_list_of_stateless_paths_takes_effect(client, spy_routes):
    with override_settings(STATELESS_PATHS=[r"^nothing$"]):
        client.post("/ingest", data="{}", content_type="application/json")

    assert seen["session"] is True


def routes(resolver=None, prefix=""):
    """Every route of the project as (path without leading slash, view callback)."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from routes(pattern, text)
        elif isinstance(pattern, URLPattern):
            yield text, pattern.callback


def stateless(route: str) -> bool:
    # Route converters ("<str:log_id>") stand for a sample value.
    sample = re.sub(r"<[^>]+>", "x", route).lstrip("^").rstrip("$").replace("\\Z", "")
    return any(re.match(expression, sample) for expression in settings.STATELESS_PATHS)


def test_no_route_of_the_admin_or_the_console_is_stateless():
    admin = [route for route, _ in routes() if route.startswith("admin/")]

    assert admin, "the admin's routes were not found"
    assert [route for route in admin if stateless(route)] == []


# Plain function views that cannot say their methods: each is GET only (require_GET).
SAFE_FUNCTION_VIEWS = {"metrics"}


def test_every_stateless_route_is_csrf_exempt_or_safe_only(client):
    """So leaving out sessions and users there can never drop a protection a view relied on."""
    for route, view in routes():
        if not stateless(route) or getattr(view, "csrf_exempt", False):
            continue
        view_class = getattr(view, "cls", None) or getattr(view, "view_class", None)
        if view_class is None:
            assert route in SAFE_FUNCTION_VIEWS, route
            assert client.post(f"/{route}").status_code == 405, route
        else:
            methods = {method.upper() for method in view_class.http_method_names}
            assert methods <= {"GET", "HEAD", "OPTIONS"}, route


def test_every_route_outside_the_admin_and_the_api_docs_is_stateless():
    """A new API route left off STATELESS_PATHS would pay for sessions it never uses."""
    for route, _ in routes():
        if route.startswith(("admin/", "api/")):
            continue
        assert stateless(route), f"{route} is not in STATELESS_PATHS"
