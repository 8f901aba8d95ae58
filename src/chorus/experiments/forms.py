from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chorus.ads.models import AdAccount, Boost, SavedAudience
from chorus.connectors.ads import minor_amount
from chorus.core.timeutil import resolve_local
from chorus.experiments import paid
from chorus.experiments.models import Experiment
from chorus.media.models import MediaAsset

MAX_SLOTS = 200
MAX_PAID_DAYS = 90
PAID_FIELDS = (
    "ad_account",
    "objective",
    "budget_kind",
    "budget",
    "days",
    "saved_audience",
    "countries",
    "age_min",
    "age_max",
)


class ExperimentForm(forms.Form):
    question = forms.CharField(label=_("Question"), max_length=300)
    metric = forms.ChoiceField(label=_("Metric"), choices=Experiment.Metric.choices)
    design = forms.ChoiceField(label=_("Design"), choices=Experiment.Design.choices)
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
    # The paid split (design "paid split"): what every variant's ad gets, identically.
    ad_account: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Ad account"), queryset=None, required=False
    )
    objective = forms.ChoiceField(
        label=_("Objective"),
        choices=Boost.Objective.choices,
        initial=Boost.Objective.ENGAGEMENT,
        required=False,
    )
    budget_kind = forms.ChoiceField(label=_("Budget"), choices=Boost.BudgetKind.choices, required=False)
    budget = forms.DecimalField(
        label=_("Budget per variant (in the ad account's currency)"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        required=False,
    )
    days = forms.IntegerField(
        label=_("Duration (days)"), min_value=1, max_value=MAX_PAID_DAYS, initial=7, required=False
    )
    saved_audience: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Saved audience"), queryset=None, required=False
    )
    countries = forms.CharField(
        label=_("Countries (ISO codes, comma-separated)"), max_length=400, required=False
    )
    age_min = forms.IntegerField(label=_("Age from"), min_value=13, max_value=65, initial=18, required=False)
    age_max = forms.IntegerField(label=_("Age to"), min_value=13, max_value=65, initial=65, required=False)

    def __init__(self, *args: Any, workspace: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["channels"].queryset = workspace.channels.order_by("name")  # type: ignore[attr-defined]
        images = MediaAsset.objects.filter(workspace=workspace, kind=MediaAsset.Kind.IMAGE).order_by("-pk")
        for name in ("image_a", "image_b", "image_c"):
            self.fields[name].queryset = images  # type: ignore[attr-defined]
        self.fields["ad_account"].queryset = AdAccount.objects.filter(  # type: ignore[attr-defined]
            workspace=workspace, channel__kind__in=paid.NETWORKS
        ).order_by("name")
        self.fields["saved_audience"].queryset = SavedAudience.objects.filter(  # type: ignore[attr-defined]
            workspace=workspace, network="meta"
        ).order_by("name")

    def general_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if name not in PAID_FIELDS]

    def paid_fields(self) -> list[Any]:
        return [self[name] for name in PAID_FIELDS]

    def _paid_split(self, data: dict[str, Any]) -> paid.PaidSplitInput | None:
        """The paid split's settings, or None with the missing fields marked."""
        account = data.get("ad_account")
        for name, message in (
            ("ad_account", _("Choose the ad account that pays for the split test.")),
            ("budget", _("Give each variant's budget.")),
            ("days", _("Say how many days the split test runs.")),
        ):
            if data.get(name) in (None, ""):
                self.add_error(name, message)
        if data.get("budget") is not None and data["budget"] <= 0:
            self.add_error("budget", _("The budget must be more than zero."))
        codes = [c.strip().upper() for c in (data.get("countries") or "").replace(";", ",").split(",")]
        codes = [c for c in codes if c]
        if any(len(c) != 2 or not c.isalpha() for c in codes):
            self.add_error("countries", _("Countries are two-letter ISO codes, such as FR, SN, CA."))
        saved = data.get("saved_audience")
        if codes:
            audience: dict[str, Any] = {
                "countries": codes,
                "age_min": data.get("age_min") or 18,
                "age_max": data.get("age_max") or 65,
            }
        elif saved is not None:
            audience = dict(saved.audience)
        else:
            audience = {}
            self.add_error("countries", _("Choose a saved audience or give the countries to reach."))
        if audience and int(audience.get("age_min") or 18) > int(audience.get("age_max") or 65):
            self.add_error("age_max", _("The upper age must not be below the lower one."))
        if self.errors or account is None:
            return None
        return paid.PaidSplitInput(
            account=account,
            budget_minor=minor_amount(data["budget"], account.currency),
            days=int(data["days"]),
            audience=audience,
            objective=data.get("objective") or Boost.Objective.ENGAGEMENT,
            budget_kind=data.get("budget_kind") or Boost.BudgetKind.DAILY,
        )

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
        data["paid_split"] = (
            self._paid_split(data) if data.get("design") == Experiment.Design.PAID_SPLIT else None
        )
        return data
