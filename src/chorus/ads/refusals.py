"""Why a boost (or a change to one) is refused: a code, its parameters, a translated message.

A local class for now: the lead rebases it onto the `Refused` base of chorus.core when that
lands (STYLE.md habit 15: refusals are data)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

MESSAGES = {
    "no_ad_budget": _("Set a monthly ad budget for the workspace before boosting."),
    "currency_mismatch": _(
        "The ad account bills in %(account)s but the workspace's ad budget is in %(budget)s."
    ),
    "budget_exceeded": _(
        "This boost can spend up to %(amount)s in %(month)s: %(reserved)s of the %(limit)s monthly ad "
        "budget is already committed, so %(left)s is left."
    ),
    "campaign_budget_exceeded": _(
        "This boost can spend up to %(amount)s: %(reserved)s of the %(limit)s ad budget of the campaign "
        "“%(campaign)s” is already committed, so %(left)s is left."
    ),
    "spend_cap": _("This boost can spend up to %(amount)s, above the ad account's spend cap of %(cap)s."),
    "below_daily_minimum": _(
        "%(network)s needs a daily budget of at least %(minimum)s; this boost has %(amount)s."
    ),
    "below_lifetime_minimum": _(
        "%(network)s needs at least %(minimum)s for this schedule (%(days)s days); this boost has %(amount)s."
    ),
    "social_issue_authorization": _(
        "A boost about a social issue, an election or politics needs the ad account's authorization for "
        "such ads at Meta (confirm you have it) and a “paid for by” disclaimer."
    ),
    "social_issue_eu": _(
        "Since October 2025 Meta does not run ads about social issues, elections or politics for "
        "audiences in the European Union. Remove %(countries)s from the audience, or untick "
        "“social issue” if the ad is not one."
    ),
    "political_linkedin": _("LinkedIn does not accept ads about social issues, elections or politics."),
    "schedule": _("A boost must end after it starts, and cannot start in the past."),
    "no_location": _("Choose at least one country or location for the audience."),
    "linkedin_locations": _(
        "LinkedIn targets places by its own location ids: find %(countries)s with the location search "
        "(regions or cities) instead of typing country codes."
    ),
    "ages": _("The age range must be within 13 to 65."),
    "account_inactive": _("The ad account is not active at the network (%(status)s)."),
    "not_published": _("Only a published post can be boosted."),
    "wrong_account": _("This ad account does not advertise for the post's channel."),
    "not_boostable": _("%(network)s posts cannot be boosted."),
    "bad_budget": _("The budget must be a positive amount."),
    "state": _("This boost is %(status)s: it cannot be %(change)s."),
    "consent_withdrawn": _("Consent for a file in this post was withdrawn: it cannot be boosted."),
    "consent_scope": _("The consent for a file in this post does not cover ads: it cannot be boosted."),
}


class AdsRefused(Exception):
    """A refusal with a stable code and parameters; `message` is translated when read."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def message(self) -> str:
        return (
            gettext(str(MESSAGES[self.code])) % self.params
            if self.params
            else gettext(str(MESSAGES[self.code]))
        )

    def __str__(self) -> str:
        return self.message
