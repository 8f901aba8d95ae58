"""Every state change of accounts goes through here: audit rows and emails included."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chorus.accounts import totp
from chorus.accounts.models import (
    ApiToken,
    Invitation,
    Membership,
    Organization,
    RecoveryCode,
    User,
    Workspace,
)
from chorus.accounts.permissions import Role, Scope, assignable_roles
from chorus.core import audit, vault
from chorus.core.refusals import NotAllowed, Refused


def _unique_slug(model: type[Organization] | type[Workspace], name: str) -> str:
    base = slugify(name)[:40] or "workspace"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def create_organization(*, name: str, actor: User) -> Organization:
    org = Organization.objects.create(name=name, slug=_unique_slug(Organization, name))
    audit.record("organization.created", workspace=None, actor=actor, obj=org, name=name)
    return org


@transaction.atomic
def create_workspace(*, organization: Organization, name: str, timezone_name: str, owner: User) -> Workspace:
    workspace = Workspace.objects.create(
        organization=organization, name=name, slug=_unique_slug(Workspace, name), timezone=timezone_name
    )
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    audit.record("workspace.created", workspace=workspace, actor=owner, obj=workspace, name=name)
    return workspace


@transaction.atomic
def update_workspace(*, workspace: Workspace, actor: User, **fields: object) -> Workspace:
    # Compare with the stored row: a ModelForm has already copied its data onto `workspace`.
    stored = Workspace.objects.get(pk=workspace.pk)
    changed = {k: v for k, v in fields.items() if getattr(stored, k) != v}
    for key, value in changed.items():
        setattr(workspace, key, value)
    workspace.full_clean()
    workspace.save()
    audit.record("workspace.updated", workspace=workspace, actor=actor, obj=workspace, changed=list(changed))
    return workspace


def _check_can_assign(actor_membership: Membership, role: str) -> None:
    if role not in assignable_roles(actor_membership.role):
        # The label, not the stored value: the message is shown in the user's language.
        label = dict(Role.choices).get(role, role)
        raise PermissionDenied(_("You cannot give the role “%(role)s”.") % {"role": label})


@transaction.atomic
def invite_member(
    *, workspace: Workspace, actor_membership: Membership, email: str, role: str
) -> tuple[Invitation, str]:
    """Creates an invitation and emails its link (on commit). Returns it with the raw token."""
    _check_can_assign(actor_membership, role)
    email = email.strip().lower()
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise ValidationError(_("%(email)s is already a member of this workspace.") % {"email": email})
    # A newer invitation replaces any pending one for the same address.
    Invitation.objects.filter(workspace=workspace, email__iexact=email, accepted_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    raw, token_hash = Invitation.new_token()
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        token_hash=token_hash,
        invited_by=actor_membership.user,
        expires_at=timezone.now() + dt.timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
    )
    audit.record(
        "member.invited",
        workspace=workspace,
        actor=actor_membership.user,
        obj=invitation,
        email=email,
        role=role,
    )
    link = settings.CHORUS_BASE_URL + reverse("accept_invitation", args=[raw])
    context = {
        "workspace": workspace,
        "inviter": actor_membership.user,
        "link": link,
        "invitation": invitation,
    }
    transaction.on_commit(
        lambda: send_mail(
            subject=_("You are invited to %(workspace)s on Chorus") % {"workspace": workspace.name},
            message=render_to_string("accounts/email/invitation.txt", context),
            from_email=None,
            recipient_list=[email],
        )
    )
    return invitation, raw


@transaction.atomic
def revoke_invitation(*, invitation: Invitation, actor: User) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
    audit.record("member.invitation_revoked", workspace=invitation.workspace, actor=actor, obj=invitation)


class InvitationInvalid(Refused):
    code = "invitation_invalid"
    http_status = 410


class InvitationForSomeoneElse(InvitationInvalid):
    pass


@transaction.atomic
def accept_invitation(*, raw_token: str, user: User) -> Membership:
    """Only the address the invitation was sent to may accept it."""
    invitation = Invitation.find_by_token(raw_token)
    if invitation is None or not invitation.is_pending:
        raise InvitationInvalid(_("This invitation link is invalid, expired or already used."))
    if user.email.strip().lower() != invitation.email.strip().lower():
        raise InvitationForSomeoneElse(
            _("This invitation was sent to another address; sign in as %(email)s to accept it.")
            % {"email": invitation.email}
        )
    # Claim the invitation with a conditional update so a double click cannot use it twice.
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now()
    )
    if claimed != 1:
        raise InvitationInvalid(_("This invitation link is invalid, expired or already used."))
    membership, _created = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
    )
    audit.record(
        "member.joined",
        workspace=invitation.workspace,
        actor=user,
        obj=membership,
        role=membership.role,
        via="invitation",
    )
    return membership


def _owners_left_after(membership: Membership) -> int:
    return (
        Membership.objects.filter(workspace=membership.workspace, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .count()
    )


@transaction.atomic
def change_role(*, membership: Membership, role: str, actor_membership: Membership) -> Membership:
    _check_can_assign(actor_membership, role)
    if membership.role == Role.OWNER and actor_membership.role != Role.OWNER:
        raise PermissionDenied(_("Only an owner can change another owner's role."))
    if membership.role == Role.OWNER and role != Role.OWNER and _owners_left_after(membership) == 0:
        raise ValidationError(_("A workspace needs at least one owner."))
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit.record(
        "member.role_changed",
        workspace=membership.workspace,
        actor=actor_membership.user,
        obj=membership,
        user=membership.user.email,
        old=old,
        new=role,
    )
    return membership


@transaction.atomic
def remove_member(*, membership: Membership, actor_membership: Membership) -> None:
    if membership.role == Role.OWNER and actor_membership.role != Role.OWNER:
        raise PermissionDenied(_("Only an owner can remove an owner."))
    if membership.role == Role.OWNER and _owners_left_after(membership) == 0:
        raise ValidationError(_("A workspace needs at least one owner."))
    audit.record(
        "member.removed",
        workspace=membership.workspace,
        actor=actor_membership.user,
        obj=membership,
        user=membership.user.email,
        role=membership.role,
    )
    membership.delete()
    organization = membership.workspace.organization_id
    if not Membership.objects.filter(user=membership.user, workspace__organization_id=organization).exists():
        # Out of the organization: tokens made while a member no longer act for them.
        revoke_tokens(user=membership.user, reason="removed", workspace=membership.workspace)


def revoke_tokens(*, user: User, reason: str, workspace: Workspace | None = None) -> int:
    """Revokes every live API token of `user` (password changed or reset, removed from an
    organization); audited."""
    count = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if count:
        audit.record(
            "api_tokens.revoked", workspace=workspace, actor=None, obj=user, count=count, reason=reason
        )
    return count


def password_changed(*, user: User, how: str) -> None:
    """After a password change or reset: API tokens stop working."""
    revoke_tokens(user=user, reason=f"password_{how}")


@transaction.atomic
def update_profile(*, user: User, name: str, language: str, timezone_name: str) -> User:
    user.name, user.language, user.timezone = name, language, timezone_name
    user.full_clean(exclude=["password"])
    user.save(update_fields=["name", "language", "timezone"])
    return user


def ensure_first_admin(email: str = "admin@example.org") -> tuple[User, str] | None:
    """Creates the first staff account when there is no user yet; returns it with its password."""
    import secrets

    if User.objects.exists():
        return None
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        user = User.objects.create_superuser(email=email, password=password, name="Admin")
        org = create_organization(name="My organization", actor=user)
        create_workspace(organization=org, name="Main workspace", timezone_name="UTC", owner=user)
    return user, password


# --- personal API tokens ----------------------------------------------------------------------


TOKEN_EXPIRY_MAX_DAYS = 3650


def token_expiry(days: int | None) -> dt.datetime | None:
    """When a token made now for `days` days expires; None (or 0) days: until revoked."""
    if not days:
        return None
    if days < 0 or days > TOKEN_EXPIRY_MAX_DAYS:
        raise ValidationError(
            _("A token expires in 1 to %(max)s days, or never.") % {"max": TOKEN_EXPIRY_MAX_DAYS}
        )
    return timezone.now() + dt.timedelta(days=days)


@transaction.atomic
def issue_api_token(
    *, user: User, name: str, expires_at: dt.datetime | None = None, scope: str = Scope.WRITE
) -> tuple[ApiToken, str]:
    """A new personal API token; the raw value is returned once (only its hash is kept). The page
    and `chorus token create` both come here: the same checks, the same audit row."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError(_("A token needs a name of at most 100 characters."))
    if scope not in Scope.values:
        raise ValidationError(
            _("Unknown scope “%(scope)s”: choose %(choices)s.")
            % {"scope": scope, "choices": ", ".join(Scope.values)}
        )
    if not user.is_active:
        raise ValidationError(_("This account is deactivated."))
    token, raw = ApiToken.issue(user, name, expires_at, scope=scope)
    audit.record(
        "api_token.issued",
        workspace=None,
        actor=user,
        obj=token,
        name=name,
        hint=token.hint,
        scope=scope,
        expires_at=expires_at.isoformat() if expires_at else "",
    )
    return token, raw


@transaction.atomic
def revoke_api_token(*, token: ApiToken, actor: User) -> None:
    """Revokes a token (refused for someone else's: the caller scopes the lookup to its user)."""
    if token.user_id != actor.pk:
        raise NotAllowed(gettext_lazy("This token is not yours."), code="not_your_token")
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record(
        "api_token.revoked",
        workspace=None,
        actor=actor,
        obj=token,
        name=token.name,
        hint=token.hint,
        scope=token.scope,
    )


# --- two-factor sign-in -----------------------------------------------------------------------

RECOVERY_CODES = 10


def _new_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [RecoveryCode.new_code() for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=RecoveryCode.hash_for(user.pk, code)) for code in codes
    )
    return codes


@transaction.atomic
def enable_two_factor(*, user: User, secret: str, code: str) -> list[str] | None:
    """Turns two-factor sign-in on once `code` proves the app holds `secret`; returns the new
    recovery codes (shown once), or None when the code does not match."""
    step = totp.matching_step(secret, code)
    if step is None:
        return None
    user.totp_secret_encrypted = vault.encrypt({"secret": secret})
    user.two_factor_enabled_at = timezone.now()
    user.totp_last_step = step
    user.save(update_fields=["totp_secret_encrypted", "two_factor_enabled_at", "totp_last_step"])
    codes = _new_recovery_codes(user)
    audit.record("two_factor.enabled", workspace=None, actor=user, obj=user)
    return codes


@transaction.atomic
def disable_two_factor(*, user: User, actor: User) -> None:
    """Refused while an organization of the user requires two-factor sign-in."""
    if two_factor_required(user):
        raise NotAllowed(
            gettext_lazy("Your organization requires two-factor sign-in: it cannot be turned off."),
            code="two_factor_required",
        )
    user.totp_secret_encrypted = ""
    user.two_factor_enabled_at = None
    user.totp_last_step = 0
    user.save(update_fields=["totp_secret_encrypted", "two_factor_enabled_at", "totp_last_step"])
    RecoveryCode.objects.filter(user=user).delete()
    audit.record("two_factor.disabled", workspace=None, actor=actor, obj=user)


@transaction.atomic
def regenerate_recovery_codes(*, user: User) -> list[str]:
    """New recovery codes; the old ones stop working."""
    codes = _new_recovery_codes(user)
    audit.record("two_factor.recovery_codes_regenerated", workspace=None, actor=user, obj=user)
    return codes


def verify_second_factor(*, user: User, code: str) -> str | None:
    """Checks an authenticator code or a recovery code for `user` and spends it (each works
    once, even for two requests at the same moment: conditional updates). Returns "totp",
    "recovery" or None."""
    if not user.two_factor_enabled:
        return None
    secret = vault.decrypt(user.totp_secret_encrypted)["secret"]
    step = totp.matching_step(secret, code, after=user.totp_last_step)
    if step is not None:
        claimed = User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
        return "totp" if claimed == 1 else None
    if len(RecoveryCode.normalise(code)) != 12:
        return None
    with transaction.atomic():
        recovery = RecoveryCode.objects.filter(
            user=user, code_hash=RecoveryCode.hash_for(user.pk, code), used_at__isnull=True
        ).first()
        if recovery is None:
            return None
        if (
            RecoveryCode.objects.filter(pk=recovery.pk, used_at__isnull=True).update(used_at=timezone.now())
            != 1
        ):
            return None
        left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        audit.record("two_factor.recovery_code_used", workspace=None, actor=user, obj=user, left=left)
    return "recovery"


def two_factor_required(user: User) -> bool:
    """True when an organization the user belongs to requires two-factor sign-in."""
    return Membership.objects.filter(user=user, workspace__organization__require_two_factor=True).exists()


@transaction.atomic
def set_two_factor_required(*, organization: Organization, required: bool, actor: User) -> None:
    Organization.objects.filter(pk=organization.pk).update(require_two_factor=required)
    organization.require_two_factor = required
    audit.record(
        "organization.two_factor_required" if required else "organization.two_factor_optional",
        workspace=None,
        actor=actor,
        obj=organization,
    )
