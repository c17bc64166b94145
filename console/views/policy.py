"""A tenant's redaction policy page: edit it as a validated form, try it on a sample line, save a new version.

Only staff with ``tenants.edit_redaction_policy`` reach it, for the tenants they may
see (others' tenants: 404, like every console page). One form holds the policy and
the tester's sample: "Try" (``_try``, also what Enter does) compiles the policy as it stands in the form (with the
tenant's secret, so hash tokens are the real ones) and shows what it finds, saving
nothing; "Save" (``_save``) stores it as the next version, recorded in the tenant's history.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from console.policy_forms import PolicyForm, RuleFormSet, initial_for
from console.tester import try_policy
from console.views.base import ConsoleView
from processing.redaction import PolicyError, compile_policy, parse_policy
from tenants.models import Tenant
from tenants.redaction_policies import (
    PolicyConflict,
    load_redaction_policy,
    policy_versions,
    save_redaction_policy,
    secret_bytes,
)

RULES_PREFIX = "rules"
HISTORY_SHOWN = 10


class PolicyView(ConsoleView):
    template_name = "console/redaction_policy.html"
    http_method_names = ["get", "head", "post"]

    def setup_tenant(self, tenant_id: str) -> Tenant:
        self.access.require_policy_editor(tenant_id)
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is None:  # records in the store, but no tenant in the registry: no policy to keep
            raise Http404("No such tenant.")
        return tenant

    def get(self, request: HttpRequest, tenant_id: str) -> HttpResponse:
        tenant = self.setup_tenant(tenant_id)
        current = load_redaction_policy(tenant_id)
        try:
            initial, rules = initial_for(current.spec, version=current.version)
        except PolicyError as exc:  # stored around this form: show it as refused, start from the default
            messages.error(request, f"Version {current.version} in force is not a valid policy: {exc}")
            initial, rules = initial_for({}, version=current.version)
        form = PolicyForm(initial=initial, rules=RuleFormSet(initial=rules, prefix=RULES_PREFIX))
        return self.page(tenant, form, current.version)

    def post(self, request: HttpRequest, tenant_id: str) -> HttpResponse:
        tenant = self.setup_tenant(tenant_id)
        current_version = load_redaction_policy(tenant_id).version
        form = PolicyForm(request.POST, rules=RuleFormSet(request.POST, prefix=RULES_PREFIX))
        if not form.is_valid():
            return self.page(tenant, form, current_version)
        if "_save" in request.POST:
            return self.save(tenant, form, current_version)
        if not form.cleaned_data["sample"]:
            form.add_error("sample", "Paste a log line to try the policy on.")
            return self.page(tenant, form, current_version)
        spec = parse_policy(form.policy_data())
        redactor = compile_policy(spec, secret=secret_bytes(tenant.redaction_secret))
        result = try_policy(redactor, form.cleaned_data["sample"])
        return self.page(tenant, form, current_version, result=result)

    def save(self, tenant: Tenant, form: PolicyForm, current_version: int) -> HttpResponse:
        user = self.request.user
        try:
            saved = save_redaction_policy(
                tenant,
                form.canonical_spec(),
                created_by=user.get_username(),
                based_on=form.cleaned_data["based_on"],
            )
        except PolicyConflict as conflict:
            form.add_error(
                None,
                f"Version {conflict.current_version} was saved meanwhile (by someone else, or in another "
                "tab); nothing was saved. Reload the page to start from it.",
            )
            return self.page(tenant, form, conflict.current_version)
        LogEntry.objects.log_actions(
            user_id=user.pk,
            queryset=[tenant],
            action_flag=CHANGE,
            change_message=f"Saved redaction policy version {saved.version}.",
            single_object=True,
        )
        messages.success(
            self.request,
            f"Saved redaction policy version {saved.version} of {tenant}. It applies to logs processed from "
            f"now on (every worker within {settings.REDACTION_POLICY_CACHE_SECONDS:g} s); "
            "re-scrub to apply it to logs already stored.",
        )
        return HttpResponseRedirect(self.url("console_redaction_policy", tenant.pk))

    def page(
        self, tenant: Tenant, form: PolicyForm, current_version: int, *, result=None, status: int = 200
    ) -> HttpResponse:
        return self.render(
            {
                "title": f"Redaction policy of {tenant}",
                "tenant": tenant,
                "tenant_id": tenant.pk,
                "tenant_label": str(tenant),
                "form": form,
                "rules": form.rules,
                "current_version": current_version,
                "history": policy_versions(tenant.pk, limit=HISTORY_SHOWN),
                "result": result,
                "staleness_seconds": settings.REDACTION_POLICY_CACHE_SECONDS,
            },
            status=status,
        )

    def url(self, name: str, tenant_id: str) -> str:
        return reverse(
            f"{self.site.name}:{name}", kwargs={"tenant_id": tenant_id}, current_app=self.site.name
        )
