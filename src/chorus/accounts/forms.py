from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from chorus.accounts.models import Organization, User, Workspace, timezone_choices
from chorus.accounts.permissions import Role, Scope


class EmailAuthenticationForm(AuthenticationForm):
    """Sign-in, throttled per account and per address (accounts/throttle.py): while either is
    locked, even the right password is refused."""

    username = forms.EmailField(label=_("Email address"), widget=forms.EmailInput(attrs={"autofocus": True}))

    def clean(self) -> dict[str, Any]:
        from chorus.accounts import throttle
        from chorus.core.middleware import client_ip

        email = str(self.data.get("username", ""))
        address = client_ip(self.request) if self.request is not None else None
        keys = (throttle.account_key("login", email), throttle.address_key("login", address))
        left = throttle.locked_for(*keys)
        if left is not None:
            raise forms.ValidationError(self._locked_message(left), code="locked")
        try:
            return super().clean()
        except forms.ValidationError:
            per_account, per_address = throttle.login_rules()
            locked = throttle.hit(keys[0], per_account) | throttle.hit(keys[1], per_address)
            if locked:
                from chorus.core import audit

                audit.record("accounts.login_locked", workspace=None, account=email.lower(), address=address)
                left = throttle.locked_for(*keys)
                if left is not None:
                    raise forms.ValidationError(self._locked_message(left), code="locked") from None
            raise

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        from chorus.accounts import throttle

        throttle.clear(throttle.account_key("login", str(self.data.get("username", ""))))

    @staticmethod
    def _locked_message(left: Any) -> str:
        from django.utils.translation import gettext, ngettext

        from chorus.accounts import throttle

        count = throttle.minutes(left)
        return gettext("Too many failed sign-ins. Try again in %(when)s.") % {
            "when": ngettext("%(n)s minute", "%(n)s minutes", count) % {"n": count}
        }


class WorkspaceCreateForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), required=False, label=_("Organization")
    )
    new_organization = forms.CharField(
        max_length=150,
        required=False,
        label=_("…or a new organization"),
        help_text=_("Leave empty to use the organization chosen above."),
    )
    name = forms.CharField(max_length=150, label=_("Workspace name"))
    timezone = forms.ChoiceField(choices=timezone_choices, initial="UTC", label=_("Time zone"))

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("organization") and not data.get("new_organization"):
            raise forms.ValidationError(_("Choose an organization or name a new one."))
        return data


class WorkspaceSettingsForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=timezone_choices, label=_("Time zone"))
    # A week at most: beyond, "late" means nothing and the claim's timedelta could overflow.
    late_tolerance_minutes = forms.IntegerField(
        min_value=0,
        max_value=7 * 24 * 60,
        label=_("late publishing tolerance (minutes)"),
        help_text=_("Posts missed by more than this are held for a person instead of published late."),
    )

    class Meta:
        model = Workspace
        fields = ["name", "timezone", "late_tolerance_minutes"]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR, label=_("Role"))


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, label=_("Role"))


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=150, required=False, label=_("Name"))
    language = forms.ChoiceField(
        choices=[("", _("Browser default")), *settings.LANGUAGES], required=False, label=_("Language")
    )
    timezone = forms.ChoiceField(choices=timezone_choices, label=_("Time zone"))


class AcceptInvitationSignupForm(forms.Form):
    name = forms.CharField(max_length=150, label=_("Your name"))
    password = forms.CharField(widget=forms.PasswordInput, min_length=10, label=_("Choose a password"))

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_password(self) -> str:
        from django.contrib.auth.password_validation import validate_password

        password: str = self.cleaned_data["password"]
        validate_password(password, User(email=self.email, name=self.cleaned_data.get("name", "")))
        return password


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Token name"))
    scope = forms.ChoiceField(
        label=_("Scope"),
        choices=Scope.choices,
        initial=Scope.WRITE,
        required=False,  # left out: write, as the select shows
        help_text=_(
            "Read: GET only. Write: also create, change and delete. Administer: also workspace settings, webhooks, members and channel connections."
        ),
    )
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires"),
        choices=[(0, _("Never")), (30, _("In 30 days")), (90, _("In 90 days")), (365, _("In a year"))],
        coerce=int,
        initial=90,
        required=False,
        empty_value=None,
    )


class CodeForm(forms.Form):
    """The second sign-in step: a code from the authenticator app, or a recovery code."""

    code = forms.CharField(
        max_length=20,
        label=_("Code"),
        help_text=_("The 6-digit code your authenticator app shows, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "one-time-code", "inputmode": "text"}
        ),
    )


class EnableTwoFactorForm(forms.Form):
    code = forms.CharField(
        max_length=10,
        label=_("Code from the app"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ConfirmPasswordForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}), label=_("Your password")
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("This is not your password."))
        return password


class RequireTwoFactorForm(forms.Form):
    require = forms.BooleanField(required=False, label=_("Require two-factor sign-in for every member"))
