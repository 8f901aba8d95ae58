"""Two-factor sign-in pages: the code step after the password, the user's own set-up page, and
the owner's switch that requires it for an organization. State changes are in actions.py."""

from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache

from chorus.accounts import actions, throttle, totp
from chorus.accounts.access import current_user, workspace_of, workspace_view
from chorus.accounts.forms import (
    CodeForm,
    ConfirmPasswordForm,
    EmailAuthenticationForm,
    EnableTwoFactorForm,
    RequireTwoFactorForm,
)
from chorus.accounts.models import RecoveryCode, User
from chorus.accounts.permissions import Perm
from chorus.core import audit
from chorus.core.middleware import client_ip
from chorus.core.refusals import NotAllowed

PENDING = "chorus_2fa_pending"  # session: the user whose password was right, waiting for a code
PENDING_SECONDS = 300
SETUP_SECRET = "chorus_2fa_setup_secret"  # session: the secret shown while setting up, not yet saved
ISSUER = "Chorus"


class TwoStepLoginView(auth_views.LoginView):
    """The password step. A user with two-factor sign-in is not signed in yet: they are sent
    to the code step, which must follow within five minutes."""

    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not user.two_factor_enabled:
            return super().form_valid(form)
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "next": self.get_success_url(),  # already checked against the allowed hosts
        }
        return redirect("login_code")


@never_cache
def login_code(request: HttpRequest) -> HttpResponse:
    """The code step, throttled as the password step is: per account (its own count, which a
    right password does not clear) and per address (shared with the password step)."""
    pending: dict[str, Any] = request.session.get(PENDING) or {}
    user = None
    if pending and time.time() - float(pending.get("at", 0)) < PENDING_SECONDS:
        user = User.objects.filter(pk=int(pending.get("user") or 0), is_active=True).first()
    if user is None or not user.two_factor_enabled:
        request.session.pop(PENDING, None)
        messages.info(request, _("Sign in with your password first."))
        return redirect("login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        address = client_ip(request)
        keys = (throttle.account_key("login-code", user.email), throttle.address_key("login", address))
        left = throttle.locked_for(*keys)
        if left is not None:
            form.add_error(None, EmailAuthenticationForm._locked_message(left))
        else:
            how = actions.verify_second_factor(user=user, code=form.cleaned_data["code"])
            if how is not None:
                throttle.clear(keys[0])
                del request.session[PENDING]
                login(request, user, backend=pending["backend"])
                if how == "recovery":
                    count = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
                    messages.warning(
                        request,
                        ngettext(
                            "You signed in with a recovery code: %(n)s is left.",
                            "You signed in with a recovery code: %(n)s are left.",
                            count,
                        )
                        % {"n": count},
                    )
                return redirect(pending["next"])
            per_account, per_address = throttle.login_rules()
            locked = throttle.hit(keys[0], per_account) | throttle.hit(keys[1], per_address)
            left = throttle.locked_for(*keys) if locked else None
            if left is not None:
                audit.record(
                    "accounts.login_locked", workspace=None, account=user.email, address=address, step="code"
                )
                form.add_error(None, EmailAuthenticationForm._locked_message(left))
            else:
                form.add_error(
                    "code", _("This code is not valid. Check the time on your phone, or use a recovery code.")
                )
    return render(request, "registration/login_code.html", {"form": form})


def _qr_svg(uri: str) -> str:
    import segno

    return str(segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", title=ISSUER))


def _codes_page(request: HttpRequest, codes: list[str]) -> HttpResponse:
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@never_cache  # the key and the recovery codes stay out of caches
@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up, see, renew recovery codes for, or turn off two-factor sign-in."""
    user = current_user(request)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if not user.two_factor_enabled:
        secret = request.session.get(SETUP_SECRET) or totp.new_secret()
        request.session[SETUP_SECRET] = secret
        form = EnableTwoFactorForm(request.POST if action == "enable" else None)
        if action == "enable" and form.is_valid():
            codes = actions.enable_two_factor(user=user, secret=secret, code=form.cleaned_data["code"])
            if codes is not None:
                del request.session[SETUP_SECRET]
                messages.success(request, _("Two-factor sign-in is on."))
                return _codes_page(request, codes)
            form.add_error(
                "code", _("This code does not match. Scan the code again and enter the newest code.")
            )
        uri = totp.otpauth_uri(secret, user.email, ISSUER)
        return render(
            request,
            "accounts/two_factor.html",
            {
                "form": form,
                "qr_svg": _qr_svg(uri),
                "otpauth_uri": uri,
                "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
                "required": getattr(user, "two_factor_required", False),
            },
        )
    regenerate_form = ConfirmPasswordForm(
        request.POST if action == "regenerate" else None, user=user, prefix="r"
    )
    disable_form = ConfirmPasswordForm(request.POST if action == "disable" else None, user=user, prefix="d")
    if action == "regenerate" and regenerate_form.is_valid():
        return _codes_page(request, actions.regenerate_recovery_codes(user=user))
    if action == "disable" and disable_form.is_valid():
        try:
            actions.disable_two_factor(user=user, actor=user)
        except NotAllowed as refusal:
            messages.error(request, str(refusal.message))
        else:
            messages.success(request, _("Two-factor sign-in is off."))
        return redirect("two_factor")
    return render(
        request,
        "accounts/two_factor.html",
        {
            "enabled": True,
            "codes_left": RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
            "required": actions.two_factor_required(user),
            "regenerate_form": regenerate_form,
            "disable_form": disable_form,
        },
    )


@workspace_view(Perm.MANAGE_SECURITY)
def organization_security(request: HttpRequest) -> HttpResponse:
    """An owner requires (or stops requiring) two-factor sign-in for the whole organization."""
    workspace = workspace_of(request)
    organization = workspace.organization
    user = current_user(request)
    form = RequireTwoFactorForm(
        request.POST if request.method == "POST" else None,
        initial={"require": organization.require_two_factor},
    )
    if request.method == "POST" and form.is_valid():
        required = form.cleaned_data["require"]
        if required and not user.two_factor_enabled:
            messages.error(request, _("Turn on two-factor sign-in for yourself first."))
        elif required != organization.require_two_factor:
            actions.set_two_factor_required(organization=organization, required=required, actor=user)
            done = (
                _("Two-factor sign-in is now required in %(organization)s.")
                if required
                else _("Two-factor sign-in is now optional in %(organization)s.")
            )
            messages.success(request, done % {"organization": organization.name})
        return redirect("organization_security", slug=workspace.slug)
    # This workspace's members only: its owner does not see other workspaces' people.
    members_without = User.objects.filter(
        memberships__workspace=workspace, two_factor_enabled_at__isnull=True
    ).order_by("email")
    return render(
        request,
        "accounts/organization_security.html",
        {
            "workspace": workspace,
            "organization": organization,
            "form": form,
            "members_without": members_without,
        },
    )
