from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from chorus.accounts import actions
from chorus.accounts.access import (
    creatable_organizations,
    current_user,
    membership_of,
    workspace_of,
    workspace_view,
)
from chorus.accounts.forms import (
    AcceptInvitationSignupForm,
    ApiTokenForm,
    InviteForm,
    ProfileForm,
    RoleForm,
    WorkspaceCreateForm,
    WorkspaceSettingsForm,
)
from chorus.accounts.models import ApiToken, Invitation, Membership, User
from chorus.accounts.permissions import Perm, Scope, assignable_roles, can


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=current_user(request))
        .select_related("workspace", "workspace__organization")
        .annotate(member_count=Count("workspace__memberships"))
        .order_by("workspace__organization__name", "workspace__name")
    )
    can_create = request.user.is_staff or creatable_organizations(request.user).exists()  # type: ignore[arg-type]
    return render(request, "accounts/home.html", {"memberships": memberships, "can_create": can_create})


@login_required
def workspace_create(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    organizations = creatable_organizations(user)
    if not user.is_staff and not organizations.exists():
        raise PermissionDenied
    form = WorkspaceCreateForm(request.POST or None, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        org = form.cleaned_data["organization"]
        if form.cleaned_data["new_organization"]:
            if not user.is_staff:
                raise PermissionDenied
            org = actions.create_organization(name=form.cleaned_data["new_organization"], actor=user)
        workspace = actions.create_workspace(
            organization=org,
            name=form.cleaned_data["name"],
            timezone_name=form.cleaned_data["timezone"],
            owner=user,
        )
        messages.success(request, _("Workspace “%(name)s” created.") % {"name": workspace.name})
        return redirect("workspace_home", slug=workspace.slug)
    return render(request, "accounts/workspace_create.html", {"form": form, "can_create_org": user.is_staff})


@workspace_view(Perm.MANAGE_WORKSPACE)
def workspace_settings(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    form = WorkspaceSettingsForm(request.POST or None, instance=workspace)
    if request.method == "POST" and form.is_valid():
        actions.update_workspace(workspace=workspace, actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, _("Settings saved."))
        return redirect("workspace_settings", slug=workspace.slug)
    return render(
        request,
        "accounts/workspace_settings.html",
        {
            "workspace": workspace,
            "form": form,
            "can_manage_security": can(membership_of(request).role, Perm.MANAGE_SECURITY),
        },
    )


@workspace_view(Perm.VIEW_MEMBERS, methods=("GET",))
def members(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    membership = membership_of(request)
    manage = can(membership.role, Perm.MANAGE_MEMBERS)
    invite_form = InviteForm()
    invite_form.fields["role"].choices = [(r.value, r.label) for r in assignable_roles(membership.role)]  # type: ignore[attr-defined]
    return render(
        request,
        "accounts/members.html",
        {
            "workspace": workspace,
            "membership": membership,
            "members": workspace.memberships.select_related("user").order_by("user__email"),
            "invitations": workspace.invitations.filter(
                accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
            ).order_by("-created_at")
            if manage
            else [],
            "can_manage": manage,
            "invite_form": invite_form,
            "roles": assignable_roles(membership.role),
        },
    )


@workspace_view(Perm.MANAGE_MEMBERS, methods=("POST",))
def member_invite(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    form = InviteForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("members", slug=workspace.slug)
    try:
        actions.invite_member(
            workspace=workspace,
            actor_membership=membership_of(request),
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
    return redirect("members", slug=workspace.slug)


@workspace_view(Perm.MANAGE_MEMBERS, methods=("POST",))
def member_role(request: HttpRequest, member_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    target = get_object_or_404(Membership, pk=member_id, workspace=workspace)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            actions.change_role(
                membership=target, role=form.cleaned_data["role"], actor_membership=membership_of(request)
            )
            messages.success(request, _("Role changed."))
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.error(request, _("Choose a valid role."))
    return redirect("members", slug=workspace.slug)


@workspace_view(Perm.MANAGE_MEMBERS, methods=("POST",))
def member_remove(request: HttpRequest, member_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    target = get_object_or_404(Membership, pk=member_id, workspace=workspace)
    try:
        actions.remove_member(membership=target, actor_membership=membership_of(request))
        messages.success(request, _("%(user)s was removed.") % {"user": target.user.display_name})
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    if target.user_id == request.user.pk:
        return redirect("home")
    return redirect("members", slug=workspace.slug)


@workspace_view(Perm.MANAGE_MEMBERS, methods=("POST",))
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    invitation = get_object_or_404(Invitation, pk=invitation_id, workspace=workspace)
    actions.revoke_invitation(invitation=invitation, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, _("Invitation revoked."))
    return redirect("members", slug=workspace.slug)


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation = Invitation.find_by_token(token)
    if invitation is None or not invitation.is_pending:
        return render(request, "accounts/invitation_invalid.html", status=404)
    existing = User.objects.filter(email__iexact=invitation.email).first()
    signup_form = None
    if request.user.is_authenticated:
        if request.user.email.strip().lower() != invitation.email.strip().lower():  # type: ignore[union-attr]
            # Signed in as someone else: the link is only for the address it was sent to.
            return render(
                request,
                "accounts/invitation_accept.html",
                {"invitation": invitation, "existing": existing, "wrong_user": True},
                status=403,
            )
        if request.method == "POST":
            try:
                membership = actions.accept_invitation(raw_token=token, user=request.user)  # type: ignore[arg-type]
            except actions.InvitationInvalid:
                return render(request, "accounts/invitation_invalid.html", status=404)
            messages.success(
                request, _("Welcome to %(workspace)s.") % {"workspace": membership.workspace.name}
            )
            return redirect("workspace_home", slug=membership.workspace.slug)
    elif existing is None:
        signup_form = AcceptInvitationSignupForm(request.POST or None, email=invitation.email)
        if request.method == "POST" and signup_form.is_valid():
            user = User.objects.create_user(
                email=invitation.email,
                password=signup_form.cleaned_data["password"],
                name=signup_form.cleaned_data["name"],
            )
            membership = actions.accept_invitation(raw_token=token, user=user)
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            return redirect("workspace_home", slug=membership.workspace.slug)
    return render(
        request,
        "accounts/invitation_accept.html",
        {"invitation": invitation, "existing": existing, "signup_form": signup_form},
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = ProfileForm(
        request.POST or None,
        initial={"name": user.name, "language": user.language, "timezone": user.timezone},
    )
    if request.method == "POST" and form.is_valid():
        actions.update_profile(
            user=user,
            name=form.cleaned_data["name"],
            language=form.cleaned_data["language"],
            timezone_name=form.cleaned_data["timezone"],
        )
        messages.success(request, _("Profile saved."))
        response = redirect("profile")
        if user.language:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, samesite="Lax")
        else:
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
        return response
    return render(request, "accounts/profile.html", {"form": form})


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _token, new_token = actions.issue_api_token(
            user=current_user(request),
            name=form.cleaned_data["name"],
            expires_at=actions.token_expiry(form.cleaned_data.get("expires_in_days") or 0),
            scope=form.cleaned_data.get("scope") or Scope.WRITE,
        )
        form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=current_user(request), revoked_at__isnull=True).order_by(
        "-created_at"
    )
    return render(
        request, "accounts/api_tokens.html", {"form": form, "tokens": tokens, "new_token": new_token}
    )


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    # Scoped to the signed-in user: another user's token id is a 404.
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user, revoked_at__isnull=True)
    actions.revoke_api_token(token=token, actor=current_user(request))
    messages.success(request, _("Token revoked."))
    return redirect("api_tokens")


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """The language switch: remembers the choice on the user's profile too."""
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        User.objects.filter(pk=request.user.pk).update(language=language)
    return set_language(request)


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Reset requests are limited per address and per account (accounts/throttle.py); the page
    says so without telling whether the account exists."""

    def form_valid(self, form: Any) -> HttpResponse:
        from chorus.accounts import throttle
        from chorus.core.middleware import client_ip

        rule = throttle.reset_rule()
        keys = (
            throttle.account_key("reset", form.cleaned_data["email"]),
            throttle.address_key("reset", client_ip(self.request)),
        )
        left = throttle.locked_for(*keys)
        if left is None:
            throttle.hit(keys[0], rule)
            throttle.hit(keys[1], rule)
            return super().form_valid(form)
        count = throttle.minutes(left)
        form.add_error(
            None,
            _("Too many reset requests. Try again in %(when)s.")
            % {"when": ngettext("%(n)s minute", "%(n)s minutes", count) % {"n": count}},
        )
        return self.form_invalid(form)


class RevokingPasswordChangeView(auth_views.PasswordChangeView):
    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        actions.password_changed(user=form.user, how="changed")
        return response


class RevokingPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        actions.password_changed(user=form.user, how="reset")
        return response
