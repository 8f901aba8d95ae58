from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chorus.core.timeutil import resolve_local
from chorus.experiments.models import Experiment
from chorus.media.models import MediaAsset

MAX_SLOTS = 200


class ExperimentForm(forms.Form):
    question = forms.CharField(label=_("Question"), max_length=300)
    metric = forms.ChoiceField(label=_("Metric"), choices=Experiment.Metric.choices)
    # A paid split needs an ad account, a budget and an audience: created through the API.
    design = forms.ChoiceField(
        label=_("Design"),
        choices=[c for c in Experiment.Design.choices if c[0] != Experiment.Design.PAID_SPLIT],
    )
    baseline_rate = forms.FloatField(label=_("Today's rate (%)"), min_value=0.01, max_value=99.0, initial=2.0)
    minimum_effect = forms.FloatField(
        label=_("Smallest difference worth detecting (percentage points)"),
        min_value=0.01,
        max_value=50.0,
        initial=0.4,
    )
    channels: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        label=_("Channels"), queryset=None, widget=forms.CheckboxSelectMultiple
    )
    variant_a = forms.CharField(
        label=_("Variant A"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    variant_b = forms.CharField(
        label=_("Variant B"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    variant_c = forms.CharField(
        label=_("Variant C (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        required=False,
    )
    image_a: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Image for variant A (optional)"), queryset=None, required=False
    )
    image_b: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Image for variant B (optional)"), queryset=None, required=False
    )
    image_c: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Image for variant C (optional)"), queryset=None, required=False
    )
    first_slot = forms.DateTimeField(
        label=_("First slot"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    every_days = forms.IntegerField(label=_("Then every (days)"), min_value=1, max_value=30, initial=1)
    slots = forms.IntegerField(label=_("Number of slots"), min_value=2, max_value=MAX_SLOTS, initial=8)

    def __init__(self, *args: Any, workspace: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["channels"].queryset = workspace.channels.order_by("name")  # type: ignore[attr-defined]
        images = MediaAsset.objects.filter(workspace=workspace, kind=MediaAsset.Kind.IMAGE).order_by("-pk")
        for name in ("image_a", "image_b", "image_c"):
            self.fields[name].queryset = images  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first = data.get("first_slot")
        if first is not None:
            naive = timezone.make_naive(first) if timezone.is_aware(first) else first
            start = resolve_local(naive, self.workspace.timezone).utc
            if start <= timezone.now():
                self.add_error("first_slot", _("The first slot must be in the future."))
            data["slot_times"] = [
                start + dt.timedelta(days=data.get("every_days") or 1) * i
                for i in range(data.get("slots") or 0)
            ]
        return data
