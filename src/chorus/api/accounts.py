"""REST endpoints for the user, workspaces and members."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator

from chorus.accounts import actions
from chorus.accounts.access import membership_of, workspace_of
from chorus.accounts.models import Membership, User
from chorus.accounts.permissions import Perm, Role
from chorus.api.auth import user_op, ws_perm

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
