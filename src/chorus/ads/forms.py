from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from chorus.ads.models import AdAccount, Boost, SavedAudience
from chorus.channels.models import Channel
from chorus.connectors.ads import minor_amount

PLACEMENTS = {
    "facebook": [
        ("facebook:feed", _("Facebook feed")),
        ("facebook:video_feeds", _("Facebook video feeds")),
        ("instagram:stream", _("Instagram feed")),
    ],
    "instagram": [
        ("instagram:stream", _("Instagram feed")),
        ("instagram:explore", _("Instagram explore")),
        ("instagram:story", _("Instagram stories")),
    ],
    "linkedin": [],
}


def _codes(value: str) -> list[str]:
    return [part.strip().upper() for part in value.replace(";", ",").split(",") if part.strip()]


def _items(value: str) -> list[dict[str, str]]:
    """ "key|name" lines (what the targeting search puts in the form) -> [{"key", "name"}]."""
    found = []
    for line in value.splitlines():
        key, _sep, name = line.strip().partition("|")
        if key.strip():
            found.append({"key": key.strip(), "name": name.strip() or key.strip()})
    return found


class BoostForm(forms.Form):
    account = forms.ModelChoiceField(queryset=AdAccount.objects.none(), label=_("Ad account"))
    objective = forms.ChoiceField(choices=Boost.Objective.choices, label=_("Objective"))
    budget_kind = forms.ChoiceField(choices=Boost.BudgetKind.choices, label=_("Budget"))
    budget = forms.DecimalField(
        min_value=0, decimal_places=2, label=_("Amount (in the ad account's currency)")
    )
    starts_at = forms.DateTimeField(
        label=_("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("Ends"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    saved_audience = forms.ModelChoiceField(
        queryset=SavedAudience.objects.none(), required=False, label=_("Saved audience")
    )
    countries = forms.CharField(required=False, label=_("Countries (ISO codes, comma-separated)"))
    regions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Regions (from the search)"),
    )
    cities = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Cities (from the search)")
    )
    languages = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Languages (from the search)")
    )
    interests = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Interests (from the search)")
    )
    age_min = forms.IntegerField(min_value=13, max_value=65, initial=18, label=_("Age from"))
    age_max = forms.IntegerField(min_value=13, max_value=65, initial=65, label=_("Age to"))
    genders = forms.MultipleChoiceField(
        choices=[("female", _("Women")), ("male", _("Men"))],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Genders"),
    )
    placements = forms.MultipleChoiceField(
        choices=[], required=False, widget=forms.CheckboxSelectMultiple, label=_("Placements")
    )
    save_audience_as = forms.CharField(required=False, label=_("Save this audience as"))
    social_issue = forms.BooleanField(
        required=False, label=_("This ad is about a social issue, an election or politics")
    )
    authorized = forms.BooleanField(
        required=False, label=_("The ad account is authorized at Meta to run such ads")
    )
    disclaimer = forms.CharField(required=False, max_length=200, label=_("Paid for by"))

    def __init__(self, *args: Any, channel: Channel, tz: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tz = tz
        self.fields["account"].queryset = AdAccount.objects.filter(channel=channel)  # type: ignore[attr-defined]
        network = "linkedin" if channel.kind == "linkedin" else "meta"
        self.fields["saved_audience"].queryset = SavedAudience.objects.filter(  # type: ignore[attr-defined]
            workspace=channel.workspace, network=network
        )
        self.fields["placements"].choices = PLACEMENTS.get(channel.kind, [])  # type: ignore[attr-defined]

    def _aware(self, value: dt.datetime) -> dt.datetime:
        return value.replace(tzinfo=ZoneInfo(self.tz)) if value.tzinfo is None else value

    def boost_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        account: AdAccount = data["account"]
        audience = {
            "countries": _codes(data["countries"]),
            "regions": _items(data["regions"]),
            "cities": _items(data["cities"]),
            "languages": _items(data["languages"]),
            "interests": _items(data["interests"]),
            "age_min": data["age_min"],
            "age_max": data["age_max"],
            "genders": data["genders"],
        }
        saved = data.get("saved_audience")
        if saved is not None and not (audience["countries"] or audience["regions"] or audience["cities"]):
            audience = dict(saved.audience)
        return {
            "account": account,
            "objective": data["objective"],
            "budget_kind": data["budget_kind"],
            "budget_minor": minor_amount(data["budget"], account.currency),
            "starts_at": self._aware(data["starts_at"]),
            "ends_at": self._aware(data["ends_at"]),
            "audience": audience,
            "saved_audience": saved,
            "placements": data["placements"],
            "social_issue": data["social_issue"],
            "authorized": data["authorized"],
            "disclaimer": data["disclaimer"],
        }
