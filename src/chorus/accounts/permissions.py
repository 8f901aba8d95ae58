"""The one table that decides what each workspace role may do.

Views, the API and actions ask `can(role, perm)`; nothing else compares role names.
Later capabilities add their permissions here, in the same table.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    EDITOR = "editor", _("Editor")
    CONTRIBUTOR = "contributor", _("Contributor")
    APPROVER = "approver", _("Approver")
    VIEWER = "viewer", _("Viewer")


class Perm(StrEnum):
    VIEW_WORKSPACE = "workspace.view"
    MANAGE_WORKSPACE = "workspace.manage"
    VIEW_MEMBERS = "members.view"
    MANAGE_MEMBERS = "members.manage"
    CREATE_POST = "posts.create"
    EDIT_ANY_POST = "posts.edit_any"
    APPROVE_POST = "posts.approve"
    SCHEDULE_POST = "posts.schedule"
    MANAGE_CHANNELS = "channels.manage"
    VIEW_ANALYTICS = "analytics.view"
    MANAGE_REPORTS = "analytics.reports"  # scheduled report emails, share links
    VIEW_AUDIT_LOG = "audit.view"
    MANAGE_MEDIA = "media.manage"
    MANAGE_EXPERIMENTS = "experiments.manage"  # create, start, conclude, stop, promote
    VIEW_ADS = "ads.view"  # boosts, their spend and results
    MANAGE_ADS = "ads.manage"  # boost a post; pause, resume, change budget or end date, stop
    APPROVE_ADS = "ads.approve"  # approve a boost above the workspace's approval threshold
    MANAGE_AD_ACCOUNTS = "ads.accounts"  # connect ad accounts, set the monthly ad budget
    VIEW_LISTENING = "listening.view"  # listening queries, matches, insights, alerts
    MANAGE_LISTENING = "listening.manage"  # create, edit and delete queries; listening settings
    VIEW_INBOX = "inbox.view"
    ANSWER_INBOX = "inbox.answer"  # write replies; without SEND_INBOX_REPLY they wait for approval
    SEND_INBOX_REPLY = "inbox.send"  # a reply goes out without review
    MANAGE_INBOX = "inbox.manage"  # assign, status, tags, like, hide/delete, moderate
    APPROVE_INBOX_REPLY = "inbox.approve"
    MANAGE_SECURITY = "organization.security"  # require two-factor sign-in for the organization


_ALL = frozenset(Role)
_MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
_WRITERS = frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR, Role.CONTRIBUTOR})

GRANTS: dict[Perm, frozenset[Role]] = {
    Perm.VIEW_WORKSPACE: _ALL,
    Perm.MANAGE_WORKSPACE: _MANAGERS,
    Perm.VIEW_MEMBERS: _ALL,
    Perm.MANAGE_MEMBERS: _MANAGERS,
    Perm.CREATE_POST: _WRITERS,
    Perm.EDIT_ANY_POST: frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR}),
    Perm.APPROVE_POST: frozenset({Role.OWNER, Role.ADMIN, Role.APPROVER}),
    Perm.SCHEDULE_POST: frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR}),
    Perm.MANAGE_CHANNELS: _MANAGERS,
    Perm.VIEW_ANALYTICS: frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR, Role.APPROVER, Role.VIEWER}),
    Perm.VIEW_AUDIT_LOG: _MANAGERS,
    Perm.MANAGE_REPORTS: frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR}),
    Perm.MANAGE_MEDIA: _WRITERS,  # upload, edit, delete library media
    Perm.MANAGE_EXPERIMENTS: frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR}),
    Perm.VIEW_ADS: frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR, Role.APPROVER, Role.VIEWER}),
    Perm.MANAGE_ADS: frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR}),  # spends money: no contributors
    Perm.APPROVE_ADS: frozenset({Role.OWNER, Role.ADMIN, Role.APPROVER}),
    Perm.MANAGE_AD_ACCOUNTS: _MANAGERS,
    Perm.VIEW_LISTENING: frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR, Role.APPROVER, Role.VIEWER}),
    Perm.MANAGE_LISTENING: frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR}),
    Perm.VIEW_INBOX: _ALL,
    Perm.ANSWER_INBOX: _WRITERS,
    Perm.SEND_INBOX_REPLY: frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR}),
    Perm.MANAGE_INBOX: frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR}),
    Perm.APPROVE_INBOX_REPLY: frozenset({Role.OWNER, Role.ADMIN, Role.APPROVER}),
    Perm.MANAGE_SECURITY: frozenset({Role.OWNER}),
}


def can(role: str | None, perm: Perm) -> bool:
    if role is None:
        return False
    return role in GRANTS[perm]


def may_schedule_directly(role: str | None) -> bool:
    """Take a draft straight to the schedule (the composer's "now/at/queue/repeat", the API's
    modes, a bulk import's rows): only someone who may both schedule and approve, since the
    approval is then theirs (the state machine's rule). Everyone else submits for review."""
    return can(role, Perm.SCHEDULE_POST) and can(role, Perm.APPROVE_POST)


def assignable_roles(actor_role: str) -> list[Role]:
    """Roles an actor may hand out: only an owner makes owners."""
    if actor_role == Role.OWNER:
        return list(Role)
    if actor_role == Role.ADMIN:
        return [r for r in Role if r != Role.OWNER]
    return []


class Scope(models.TextChoices):
    """What a personal API token may do, on top of its owner's role (a token never does more than
    its owner may). Ordered: each scope includes the ones before it."""

    READ = "read", _("Read")
    WRITE = "write", _("Read and write")
    ADMIN = "admin", _("Read, write and administer")


_SCOPE_ORDER = [Scope.READ, Scope.WRITE, Scope.ADMIN]
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Administering the workspace itself — settings and webhooks, members and invitations, channel
# connections, ad accounts — needs the admin scope whatever the method: a token made to push posts
# or pull figures must not be able to add a member or point the webhooks elsewhere.
ADMIN_SCOPE_PERMS = frozenset(
    {Perm.MANAGE_WORKSPACE, Perm.MANAGE_MEMBERS, Perm.MANAGE_CHANNELS, Perm.MANAGE_AD_ACCOUNTS}
)


def scope_needed(method: str, perm: Perm | None) -> Scope:
    """The scope an API operation needs: admin for administration, read for GET, write otherwise."""
    if perm in ADMIN_SCOPE_PERMS:
        return Scope.ADMIN
    return Scope.READ if method.upper() in _READ_METHODS else Scope.WRITE


def scope_allows(held: str, needed: Scope) -> bool:
    if held not in _SCOPE_ORDER:
        return False
    return _SCOPE_ORDER.index(Scope(held)) >= _SCOPE_ORDER.index(needed)
