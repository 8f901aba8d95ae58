from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from chorus.accounts.models import Organization, User, Workspace, timezone_choices
from chorus.accounts.permissions import Role


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label=_("Email address"), widget=forms.EmailInput(attrs={"autofocus": True}))


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
