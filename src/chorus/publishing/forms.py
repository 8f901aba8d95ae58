from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chorus.channels.models import Channel


class PostForm(forms.Form):
    WHEN_CHOICES = [
        ("draft", _("Save as draft")),
        ("review", _("Submit for review")),
        ("now", _("Publish now")),
        ("at", _("Schedule at a date and time")),
        ("queue", _("Add to the queue (next free slot)")),
    ]
    title = forms.CharField(max_length=200, required=False, label=_("Title (internal)"))
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label=_("Text"))
    channels = forms.ModelMultipleChoiceField(
        queryset=Channel.objects.none(), widget=forms.CheckboxSelectMultiple, label=_("Channels")
    )
    when = forms.ChoiceField(choices=WHEN_CHOICES, initial="draft", widget=forms.RadioSelect, label=_("When"))
    local_time = forms.DateTimeField(
        required=False,
        label=_("Date and time (workspace time zone)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    evergreen = forms.BooleanField(required=False, label=_("Evergreen: re-queue after publishing"))

    def __init__(self, *args: Any, workspace: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channels"].queryset = Channel.objects.filter(workspace=workspace).order_by("name")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("when") == "at" and not data.get("local_time"):
            self.add_error("local_time", _("Choose a date and time."))
        return data


class RescheduleForm(forms.Form):
    local_time = forms.DateTimeField(
        label=_("New date and time (workspace time zone)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
