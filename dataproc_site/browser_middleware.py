"""Sessions, users and messages for the routes people use, not for the API that machines call.

The admin and the staff console need Django's session, authentication and
messages middleware; the API (tenant keys, tokens, probes) uses none of them, yet
each would still build a session store, a lazy user and two message stores for
every request. These subclasses of Django's own middleware step aside on the
routes ``STATELESS_PATHS`` names (regular expressions matched against the path
without its leading slash, as ``SECURE_REDIRECT_EXEMPT`` is) and behave exactly
like Django's everywhere else, so every other route, a new one included, gets the
full stack until it is listed. The admin's system checks accept subclasses.

CSRF is not among them: ``CsrfViewMiddleware`` stays Django's own on every route
(its deploy checks look for it by name), and a view under a stateless path that is
not CSRF-exempt is still refused an unsafe request without a token.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse

_compiled: list[re.Pattern[str] | None] = []


def _stateless_pattern() -> re.Pattern[str] | None:
    if not _compiled:
        paths = list(getattr(settings, "STATELESS_PATHS", []))
        _compiled.append(re.compile("|".join(f"(?:{path})" for path in paths)) if paths else None)
    return _compiled[0]


def _forget_pattern(*, setting: str, **kwargs) -> None:
    if setting == "STATELESS_PATHS":
        _compiled.clear()


setting_changed.connect(_forget_pattern, dispatch_uid="dataproc_site.browser_middleware.forget_pattern")


def is_stateless(request: HttpRequest) -> bool:
    """Whether ``request`` is for a route that ``STATELESS_PATHS`` names (decided once per request)."""
    try:
        return request._dataproc_stateless  # type: ignore[attr-defined]
    except AttributeError:
        pattern = _stateless_pattern()
        stateless = pattern is not None and pattern.match(request.path_info.lstrip("/")) is not None
        request._dataproc_stateless = stateless  # type: ignore[attr-defined]
        return stateless


class _BrowserOnly:
    """Django's middleware on browser routes; on stateless ones, straight on to the next layer."""

    get_response: object

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_stateless(request):
            return self.get_response(request)  # type: ignore[operator]
        return super().__call__(request)  # type: ignore[misc]


class SessionMiddleware(_BrowserOnly, DjangoSessionMiddleware):
    pass


class AuthenticationMiddleware(_BrowserOnly, DjangoAuthenticationMiddleware):
    pass


class MessageMiddleware(_BrowserOnly, DjangoMessageMiddleware):
    pass
