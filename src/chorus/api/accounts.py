"""REST endpoints for the user, workspaces and members."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator

from chorus.accounts import actions
from chorus.accounts.access import creatable_organizations, membership_of, workspace_of
from chorus.accounts.forms import WorkspaceCreateForm, WorkspaceSettingsForm
from chorus.accounts.models import Membership, User, Workspace
from chorus.accounts.permissions import Perm, Role
from chorus.api.auth import user_op, ws_perm
from chorus.core.refusals import Invalid

router = Router(tags=["accounts"])


class UserOut(Schema):
    id: int
    email: str
    name: str
    language: str
    timezone: str


class WorkspaceOut(Schema):
    slug: str
    name: str
    organization: str
    timezone: str
    role: str


class MemberOut(Schema):
    id: int
    email: str
    name: str
    role: str
    joined_at: dt.datetime


class InviteIn(Schema):
    email: str
    role: Role = Role.EDITOR

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        from django.core.validators import validate_email

        try:
            validate_email(value.strip())
        except ValidationError:
            raise ValueError("not a valid email address") from None
        return value.strip().lower()


class InvitationOut(Schema):
    id: int
    email: str
    role: str
    expires_at: dt.datetime


class RoleIn(Schema):
    role: Role


def _workspace_out(m: Membership) -> WorkspaceOut:
    w = m.workspace
    return WorkspaceOut(
        slug=w.slug, name=w.name, organization=w.organization.name, timezone=w.timezone, role=m.role
    )


def _member_out(m: Membership) -> MemberOut:
    return MemberOut(id=m.pk, email=m.user.email, name=m.user.name, role=m.role, joined_at=m.created_at)


def _as_http_error(exc: Exception) -> HttpError:
    if isinstance(exc, PermissionDenied):
        return HttpError(403, str(exc) or "Not allowed")
    return HttpError(422, " ".join(getattr(exc, "messages", [str(exc)])))


@router.get("/me", response=UserOut, **user_op())
def me(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


@router.get("/workspaces", response=list[WorkspaceOut], **user_op())
def list_workspaces(request: HttpRequest) -> list[WorkspaceOut]:
    memberships = Membership.objects.filter(user=request.auth).select_related(  # type: ignore[attr-defined]
        "workspace", "workspace__organization"
    )
    return [_workspace_out(m) for m in memberships.order_by("workspace__name")]


@router.get("/workspaces/{slug}", response=WorkspaceOut, **ws_perm(Perm.VIEW_WORKSPACE))
def get_workspace(request: HttpRequest, slug: str) -> WorkspaceOut:
    return _workspace_out(membership_of(request))


class WorkspaceIn(Schema):
    """A new workspace: in an organization you own a workspace of (`organization`, its slug),
    or in a new one (`new_organization`, staff only), as on the New workspace page."""

    name: str
    timezone: str = "UTC"
    organization: str = ""
    new_organization: str = ""


class WorkspaceSettingsIn(Schema):
    """Only the fields given change (as on the workspace's Settings page)."""

    name: str | None = None
    timezone: str | None = None
    late_tolerance_minutes: int | None = None


class WorkspaceSettingsOut(WorkspaceOut):
    late_tolerance_minutes: int


def _form_refusal(form: Any) -> Invalid:
    """A form's errors as the API's one error shape (422, each field named)."""
    fields = {name: " ".join(str(e) for e in errors) for name, errors in form.errors.items()}
    message = " ".join(fields.pop("__all__", "").split()) or gettext_lazy("Some fields are not valid.")
    return Invalid(message, code="invalid", fields=fields)


@router.post("/workspaces", response={201: WorkspaceSettingsOut}, **user_op())
def create_workspace(request: HttpRequest, payload: WorkspaceIn) -> Status:
    """You become its owner (a token with the write scope is enough: it administers nothing yet)."""
    user: User = request.auth  # type: ignore[attr-defined]
    organizations = creatable_organizations(user)
    org = organizations.filter(slug=payload.organization).first() if payload.organization else None
    if payload.organization and org is None:
        raise Invalid(
            gettext_lazy("No organization with this slug where you may create workspaces."),
            code="invalid",
            fields={"organization": "unknown"},
        )
    if payload.new_organization and not user.is_staff:
        raise HttpError(403, "Only staff may create an organization.")
    if not user.is_staff and not organizations.exists():
        raise HttpError(403, "You own no workspace in any organization, so you may not create one.")
    form = WorkspaceCreateForm(
        {
            "organization": org.pk if org else "",
            "new_organization": payload.new_organization,
            "name": payload.name,
            "timezone": payload.timezone,
        },
        organizations=organizations,
    )
    if not form.is_valid():
        raise _form_refusal(form)
    if form.cleaned_data["new_organization"]:
        org = actions.create_organization(name=form.cleaned_data["new_organization"], actor=user)
    else:
        org = form.cleaned_data["organization"]
    workspace = actions.create_workspace(
        organization=org,
        name=form.cleaned_data["name"],
        timezone_name=form.cleaned_data["timezone"],
        owner=user,
    )
    membership = Membership.objects.select_related("workspace__organization").get(
        workspace=workspace, user=user
    )
    return Status(201, _settings_out(membership))


def _settings_out(m: Membership) -> WorkspaceSettingsOut:
    return WorkspaceSettingsOut(
        **_workspace_out(m).model_dump(), late_tolerance_minutes=m.workspace.late_tolerance_minutes
    )


@router.patch("/workspaces/{slug}", response=WorkspaceSettingsOut, **ws_perm(Perm.MANAGE_WORKSPACE))
def update_workspace(request: HttpRequest, slug: str, payload: WorkspaceSettingsIn) -> WorkspaceSettingsOut:
    """Name, time zone and late-publishing tolerance, checked as the Settings page checks them."""
    workspace = workspace_of(request)
    given = payload.model_dump(exclude_none=True)
    current = {name: getattr(workspace, name) for name in WorkspaceSettingsIn.model_fields}
    form = WorkspaceSettingsForm({**current, **given}, instance=Workspace.objects.get(pk=workspace.pk))
    if not form.is_valid():
        raise _form_refusal(form)
    actions.update_workspace(workspace=workspace, actor=request.auth, **form.cleaned_data)  # type: ignore[attr-defined]
    membership = membership_of(request)
    membership.workspace = workspace
    return _settings_out(membership)


@router.get("/workspaces/{slug}/members", response=list[MemberOut], **ws_perm(Perm.VIEW_MEMBERS))
def list_members(request: HttpRequest, slug: str) -> list[MemberOut]:
    members = workspace_of(request).memberships.select_related("user").order_by("user__email")
    return [_member_out(m) for m in members]


@router.post("/workspaces/{slug}/invitations", response={201: InvitationOut}, **ws_perm(Perm.MANAGE_MEMBERS))
def invite(request: HttpRequest, slug: str, payload: InviteIn) -> Status:
    try:
        invitation, _raw = actions.invite_member(
            workspace=workspace_of(request),
            actor_membership=membership_of(request),
            email=payload.email,
            role=payload.role,
        )
    except (ValidationError, PermissionDenied) as exc:
        raise _as_http_error(exc) from None
    return Status(
        201,
        InvitationOut(
            id=invitation.pk, email=invitation.email, role=invitation.role, expires_at=invitation.expires_at
        ),
    )


@router.patch("/workspaces/{slug}/members/{member_id}", response=MemberOut, **ws_perm(Perm.MANAGE_MEMBERS))
def change_member_role(request: HttpRequest, slug: str, member_id: int, payload: RoleIn) -> MemberOut:
    target = get_object_or_404(
        Membership.objects.select_related("user"), pk=member_id, workspace=workspace_of(request)
    )
    try:
        actions.change_role(membership=target, role=payload.role, actor_membership=membership_of(request))
    except (ValidationError, PermissionDenied) as exc:
        raise _as_http_error(exc) from None
    return _member_out(target)


@router.delete("/workspaces/{slug}/members/{member_id}", response={204: None}, **ws_perm(Perm.MANAGE_MEMBERS))
def remove_member(request: HttpRequest, slug: str, member_id: int) -> Status:
    target = get_object_or_404(
        Membership.objects.select_related("user"), pk=member_id, workspace=workspace_of(request)
    )
    try:
        actions.remove_member(membership=target, actor_membership=membership_of(request))
    except (ValidationError, PermissionDenied) as exc:
        raise _as_http_error(exc) from None
    return Status(204, None)
