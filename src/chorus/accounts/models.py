from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import zoneinfo
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from chorus.accounts.permissions import Role, Scope


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not an IANA time zone."), params={"value": value})


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name or name == "UTC"]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address and a password."""

    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=now)
    # Two-factor sign-in (accounts/totp.py): the TOTP secret encrypted by the vault, when it was
    # confirmed (None: off), and the last time step used (a code works once).
    totp_secret_encrypted = models.TextField(blank=True, editable=False)
    two_factor_enabled_at = models.DateTimeField(
        _("two-factor enabled"), null=True, blank=True, editable=False
    )
    totp_last_step = models.BigIntegerField(default=0, editable=False)

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def two_factor_enabled(self) -> bool:
        return self.two_factor_enabled_at is not None


class Organization(models.Model):
    """Owns workspaces (a non-profit, an agency client)."""

    name = models.CharField(_("name"), max_length=150)
    slug = models.SlugField(_("slug"), unique=True)
    require_two_factor = models.BooleanField(
        _("require two-factor sign-in"),
        default=False,
        help_text=_("Members without two-factor sign-in are sent to set it up after they sign in."),
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name


class Workspace(models.Model):
    """The tenant: every workspace-owned row hangs off one, and every query is scoped to it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="workspaces")
    name = models.CharField(_("name"), max_length=150)
    slug = models.SlugField(_("slug"), unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    late_tolerance_minutes = models.PositiveIntegerField(
        _("late publishing tolerance (minutes)"),
        default=15,
        help_text=_("Posts missed by more than this are held for a person instead of published late."),
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class Invitation(models.Model):
    """An emailed link that makes its holder a member. Only the hash of the token is stored."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.EDITOR)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace}"

    @staticmethod
    def new_token() -> tuple[str, str]:
        raw = secrets.token_urlsafe(32)
        return raw, _token_hash(raw)

    @classmethod
    def find_by_token(cls, raw: str) -> Invitation | None:
        return cls.objects.select_related("workspace").filter(token_hash=_token_hash(raw)).first()

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class ApiToken(models.Model):
    """A personal API token. The raw value is shown once; only its SHA-256 is stored."""

    PREFIX = "chorus_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(
        max_length=12, editable=False, help_text=_("Last characters, to tell tokens apart")
    )
    created_at = models.DateTimeField(default=now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)  # None: until revoked
    # Tokens made before scopes existed could do everything their owner may: they keep admin.
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.ADMIN)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} (…{self.hint})"

    @classmethod
    def issue(
        cls, user: User, name: str, expires_at: dt.datetime | None = None, scope: str = Scope.ADMIN
    ) -> tuple[ApiToken, str]:
        """Stores a new token (the caller audits: `accounts.actions.issue_api_token`)."""
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            token_hash=_token_hash(raw),
            hint=raw[-6:],
            expires_at=expires_at,
            scope=scope,
        )
        return token, raw

    @classmethod
    def find(cls, raw: str) -> ApiToken | None:
        """The token with this raw value, live or not (the API says why a dead one is refused).
        `owner_needs_two_factor` tells, in the same query, whether an organization of its owner
        requires two-factor sign-in (the API refuses the token until the owner has it)."""
        required = Membership.objects.filter(
            user=models.OuterRef("user_id"), workspace__organization__require_two_factor=True
        )
        return (
            cls.objects.select_related("user")
            .annotate(owner_needs_two_factor=models.Exists(required))
            .filter(token_hash=_token_hash(raw))
            .first()
        )

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and not self.is_expired and self.user.is_active

    def touch(self) -> None:
        now = timezone.now()
        # Write at most once a minute: a busy API client should not turn every read into a write.
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() > 60:
            type(self).objects.filter(pk=self.pk).update(last_used_at=now)

    @classmethod
    def authenticate(cls, raw: str) -> User | None:
        token = cls.find(raw)
        if token is None or not token.is_live:
            return None
        token.touch()
        return token.user


class Throttle(models.Model):
    """Events counted per key in a fixed window: sign-in and reset failures ("login:account:<email>",
    "login:address:<ip>", "reset:…"; a key over its limit is locked until `locked_until`) and API
    requests ("api:token:<id>", "api:address:<ip>", one-minute windows, chorus.api.ratelimit), in
    the embedded shape, whose processes share the database (a per-process memory cache would count
    in each alone). The scaled shape counts the same keys in Redis (chorus.core.shared_counts)."""

    key = models.CharField(max_length=200, unique=True)
    hits = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField(default=now)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key


class RecoveryCode(models.Model):
    """A one-use code that replaces the authenticator app once (a lost phone). Shown once when
    made; only a salted SHA-256 is stored (60 random bits each, beyond offline guessing)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=now)
    used_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[RecoveryCode]] = models.Manager()  # typed for mypy before install
    ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return f"{self.user} ({'used' if self.used_at else 'unused'})"

    @staticmethod
    def normalise(raw: str) -> str:
        return "".join(ch for ch in raw.lower() if ch.isalnum())

    @classmethod
    def hash_for(cls, user_id: int, raw: str) -> str:
        return hashlib.sha256(f"chorus-recovery:{user_id}:{cls.normalise(raw)}".encode()).hexdigest()

    @classmethod
    def new_code(cls) -> str:
        chars = "".join(secrets.choice(cls.ALPHABET) for _ in range(12))
        return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"
