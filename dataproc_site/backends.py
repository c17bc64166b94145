"""Pluggable backends chosen by a setting, built once per process: the queue and the log store.

Like ``django.core.mail.get_connection``: the setting names a backend by short
alias or dotted path, ``get()`` builds it on first use (after any fork, so gRPC
clients never cross one) and keeps it, ``reset()`` closes and forgets it.
``register()`` (from the owning app's ``ready()``) adds a system check, so a typo
in the setting fails ``manage.py check`` and start-up rather than the first
request, and a ``setting_changed`` receiver, so ``override_settings`` in tests
never keeps serving the old backend.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

Backend = TypeVar("Backend")


class BackendAccessor(Generic[Backend]):
    """The process-wide instance of the backend that ``setting`` names."""

    def __init__(
        self, setting: str, aliases: dict[str, str], base_class: type[Backend], *, check_id: str
    ) -> None:
        self.setting = setting
        self.aliases = aliases
        self.base_class = base_class
        self.check_id = check_id
        self._lock = threading.Lock()
        self._instance: Backend | None = None

    def load_class(self, backend: str | None = None) -> type[Backend]:
        """The class ``backend`` (default: the setting's value) names; ImproperlyConfigured if none."""
        backend = getattr(settings, self.setting) if backend is None else backend
        path = self.aliases.get(backend, backend)
        try:
            loaded = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(f"{self.setting} {backend!r} cannot be loaded: {exc}") from exc
        if not (isinstance(loaded, type) and issubclass(loaded, self.base_class)):
            raise ImproperlyConfigured(
                f"{self.setting} {backend!r} is not a {self.base_class.__name__} subclass."
            )
        return loaded

    def get(self) -> Backend:
        """The backend, built on first use in this process."""
        instance = self._instance
        if instance is None:
            with self._lock:
                if self._instance is None:
                    self._instance = self.load_class()()
                instance = self._instance
        return instance

    def reset(self) -> None:
        """Close and forget the backend (tests that switch it; a process about to fork)."""
        with self._lock:
            instance, self._instance = self._instance, None
        if instance is not None:
            instance.close()

    def check(self, app_configs=None, **kwargs) -> list[checks.CheckMessage]:
        try:
            self.load_class()
        except ImproperlyConfigured as exc:
            hint = f"Use one of {', '.join(repr(alias) for alias in self.aliases)} or a dotted path."
            return [checks.Error(str(exc), hint=hint, id=self.check_id)]
        return []

    def _on_setting_changed(self, *, setting: str, **kwargs) -> None:
        if setting == self.setting:
            self.reset()

    def register(self) -> None:
        """Install the system check and the ``setting_changed`` reset (an app's ``ready()``)."""

        def check_backend_setting(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
            return self.check(app_configs, **kwargs)

        checks.register(check_backend_setting)
        setting_changed.connect(self._on_setting_changed, dispatch_uid=f"backend-reset-{self.setting}")
