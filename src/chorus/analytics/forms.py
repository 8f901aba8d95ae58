from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from chorus.accounts.models import Workspace
from chorus.analytics.models import ScheduledReport
from chorus.analytics.reports import SECTIONS
from chorus.channels.models import Channel
from chorus.core.widgets import CheckboxList


class _WorkspaceForm(forms.Form):
    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        if "channels" in self.fields:
            self.fields["channels"].queryset = Channel.objects.filter(workspace=workspace).order_by("name")  # type: ignore[attr-defined]


class ReportForm(_WorkspaceForm):
    start = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    sections = forms.MultipleChoiceField(
        label=_("Sections"),
        choices=list(SECTIONS.items()),
        widget=CheckboxList,
        initial=list(SECTIONS),
    )
    channels = forms.ModelMultipleChoiceField(
        label=_("Channels (none: all)"),
        queryset=Channel.objects.none(),
        required=False,
        widget=CheckboxList,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The end date is before the start date."))
            if end - start > dt.timedelta(days=731):
                raise forms.ValidationError(_("A report covers at most two years."))
        return data


class ScheduleForm(_WorkspaceForm):
    name = forms.CharField(label=_("Name"), max_length=150)
    frequency = forms.ChoiceField(label=_("Frequency"), choices=ScheduledReport.Frequency.choices)
    recipients = forms.CharField(
        label=_("Recipients (one email address per line)"), widget=forms.Textarea(attrs={"rows": 3})
    )
    sections = forms.MultipleChoiceField(
        label=_("Sections"),
        choices=list(SECTIONS.items()),
        widget=CheckboxList,
        initial=list(SECTIONS),
    )
    channels = forms.ModelMultipleChoiceField(
        label=_("Channels (none: all)"),
        queryset=Channel.objects.none(),
        required=False,
        widget=CheckboxList,
    )

    def clean_recipients(self) -> str:
        lines = [line.strip() for line in self.cleaned_data["recipients"].splitlines() if line.strip()]
        if not lines:
            raise forms.ValidationError(_("Give at least one email address."))
        for line in lines:
            try:
                validate_email(line)
            except forms.ValidationError as exc:
                raise forms.ValidationError(
                    _("%(address)s is not an email address.") % {"address": line}
                ) from exc
        return "\n".join(lines)


class ShareForm(ReportForm):
    days = forms.IntegerField(label=_("Link valid for (days)"), min_value=1, max_value=90, initial=14)


class NotableForm(forms.Form):
    notable_followers = forms.IntegerField(
        label=_("Notable amplifier: at least this many followers"),
        min_value=1,
        max_value=10**12,
        help_text=_(
            "An account that reposts or quotes a post counts as notable from this many followers on."
        ),
    )


class LogoForm(forms.Form):
    logo = forms.FileField(
        label=_("Logo on the cover of reports"),
        help_text=_("An image (PNG, JPEG or WebP); it is added to the media library."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
