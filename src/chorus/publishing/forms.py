from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chorus.channels.models import Channel
from chorus.content.models import Campaign

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


class ComposerForm(forms.Form):
    """The composer's common fields; per-channel text and options are read by
    chorus.publishing.composer (their names depend on the channel)."""

    WHEN_CHOICES = [
        ("draft", _("Save as draft")),
        ("review", _("Submit for review")),
        ("now", _("Publish now")),
        ("at", _("At a date and time")),
        ("queue", _("Next free queue slot")),
        ("recurring", _("Repeat")),
    ]
    EDIT_WHEN_CHOICES = [("keep", _("Keep the current schedule")), *WHEN_CHOICES[1:]]
    FREQ_CHOICES = [("weekly", _("Weekly")), ("daily", _("Daily"))]
    DAY_CHOICES = [
        ("MO", _("Mon")),
        ("TU", _("Tue")),
        ("WE", _("Wed")),
        ("TH", _("Thu")),
        ("FR", _("Fri")),
        ("SA", _("Sat")),
        ("SU", _("Sun")),
    ]

    title = forms.CharField(max_length=200, required=False, label=_("Title (internal)"))
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False, label=_("Main text (all channels)")
    )
    link = forms.URLField(required=False, assume_scheme="https", label=_("Link"))
    channels = forms.ModelMultipleChoiceField(
        queryset=Channel.objects.none(), widget=forms.CheckboxSelectMultiple, label=_("Channels")
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.none(), required=False, empty_label=_("No campaign"), label=_("Campaign")
    )
    tags = forms.CharField(
        max_length=600,
        required=False,
        label=_("Tags"),
        help_text=_("Separated by commas, e.g. spring, volunteers."),
    )
    shorten_links = forms.BooleanField(required=False, label=_("Add UTM and shorten links"))
    when = forms.ChoiceField(choices=WHEN_CHOICES, initial="draft", widget=forms.RadioSelect, label=_("When"))
    local_time = forms.DateTimeField(
        required=False,
        label=_("Date and time (workspace time zone)"),
        widget=DATETIME_INPUT,
        input_formats=DATETIME_FORMATS,
    )
    recur_freq = forms.ChoiceField(choices=FREQ_CHOICES, initial="weekly", required=False, label=_("Repeat"))
    recur_days = forms.MultipleChoiceField(
        choices=DAY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple, label=_("On")
    )
    recur_time = forms.TimeField(
        required=False, label=_("At"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    recur_start = forms.DateField(
        required=False, label=_("Starting"), widget=forms.DateInput(attrs={"type": "date"})
    )
    evergreen = forms.BooleanField(required=False, label=_("Evergreen: re-queue after publishing"))

    def __init__(
        self, *args: Any, workspace: Any, editing: bool = False, can_schedule: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.fields["channels"].queryset = Channel.objects.filter(workspace=workspace).order_by("name")  # type: ignore[attr-defined]
        self.fields["campaign"].queryset = Campaign.objects.filter(workspace=workspace).order_by("name")  # type: ignore[attr-defined]
        self.fields["tags"].widget.attrs["list"] = "tag-names"
        when = self.fields["when"]
        choices = self.EDIT_WHEN_CHOICES if editing else self.WHEN_CHOICES
        if not can_schedule:  # the view refuses these too; here they are simply not offered
            choices = [(k, v) for k, v in choices if k in {"keep", "draft", "review"}]
        when.choices = choices  # type: ignore[attr-defined]
        if editing:
            self.fields["channels"].required = False
            when.initial = "keep"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        when = data.get("when")
        if when == "at" and not data.get("local_time"):
            self.add_error("local_time", _("Choose a date and time."))
        if when == "recurring":
            if not data.get("recur_time"):
                self.add_error("recur_time", _("Choose the time of day."))
            if data.get("recur_freq") == "weekly" and not data.get("recur_days"):
                self.add_error("recur_days", _("Choose at least one day of the week."))
        return data


class RescheduleForm(forms.Form):
    local_time = forms.DateTimeField(
        label=_("New date and time (workspace time zone)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
