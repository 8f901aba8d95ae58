"""The Posts list: one row per post (its copies shown as channel chips with their own status),
the filters people use to find posts, and the rows a bulk action applies to. Shared by the page
and its bulk actions, so both read the same filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django import forms
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from chorus.accounts.models import User, Workspace
from chorus.channels.models import Channel
from chorus.content.models import Campaign, Post, PostTarget, Tag
from chorus.core.timeutil import resolve_local

S = PostTarget.Status
HELD = "held"
PAGE_SIZE = 50


def status_choices() -> list[tuple[str, Any]]:
    return [("", _("Any status")), *S.choices, (HELD, _("Held"))]


class PostFilter(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    channel = forms.ModelChoiceField(label=_("Channel"), queryset=Channel.objects.none(), required=False)
    campaign = forms.ModelChoiceField(label=_("Campaign"), queryset=Campaign.objects.none(), required=False)
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.none(), required=False)
    author = forms.ModelChoiceField(label=_("Author"), queryset=User.objects.none(), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=status_choices, required=False)
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data: Any, *, workspace: Workspace) -> None:
        super().__init__(data, label_suffix="")
        self.workspace = workspace
        fields: dict[str, Any] = self.fields
        fields["channel"].queryset = Channel.objects.filter(workspace=workspace).order_by("name")
        fields["campaign"].queryset = Campaign.objects.filter(workspace=workspace).order_by("name")
        fields["tag"].queryset = Tag.objects.filter(workspace=workspace).order_by("name")
        fields["author"].queryset = User.objects.filter(memberships__workspace=workspace).order_by("email")
        fields["channel"].empty_label = _("Any channel")
        fields["campaign"].empty_label = _("Any campaign")
        fields["tag"].empty_label = _("Any tag")
        fields["author"].empty_label = _("Anyone")
        fields["author"].label_from_instance = lambda u: u.display_name

    def filtered(self) -> QuerySet[Post]:
        """The workspace's posts matching the valid filters (an invalid filter is ignored)."""
        # Through the workspace's manager: each post knows its workspace without a join (joining
        # it let SQLite loop over workspaces first and sort every post instead of reading the
        # index backwards: 34 -> 0.7 ms for a page at 10,226 posts).
        posts = self.workspace.posts.all()
        data = self.cleaned_data if self.is_valid() else {}
        # Conditions on copies apply to one copy together: "failed on Bluesky" means the
        # Bluesky copy failed, not that one copy failed and another is on Bluesky.
        copy = Q()
        if data.get("channel"):
            copy &= Q(channel=data["channel"])
        status = data.get("status")
        if status == HELD:
            copy &= Q(status=S.SCHEDULED) & ~Q(hold_reason="")
        elif status:
            copy &= Q(status=status)
        start, end = self._bounds(data.get("start"), data.get("end"))
        if start is not None:
            copy &= Q(scheduled_at__gte=start)
        if end is not None:
            copy &= Q(scheduled_at__lt=end)
        if copy:
            posts = posts.filter(Exists(PostTarget.objects.filter(copy, post=OuterRef("pk"))))
        if query := (data.get("q") or "").strip():
            posts = posts.filter(
                Q(title__icontains=query)
                | Exists(PostTarget.objects.filter(post=OuterRef("pk"), text__icontains=query))
            )
        if data.get("campaign"):
            posts = posts.filter(campaign=data["campaign"])
        if data.get("tag"):
            posts = posts.filter(
                Exists(Post.tags.through.objects.filter(post=OuterRef("pk"), tag=data["tag"]))
            )
        if data.get("author"):
            posts = posts.filter(author=data["author"])
        return posts

    def _bounds(
        self, start: dt.date | None, end: dt.date | None
    ) -> tuple[dt.datetime | None, dt.datetime | None]:
        """Local days of the workspace, as UTC instants: `end` is included (to its midnight)."""
        zone = self.workspace.timezone
        low = resolve_local(dt.datetime.combine(start, dt.time()), zone).utc if start else None
        high = (
            resolve_local(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()), zone).utc
            if end
            else None
        )
        return low, high

    def query_string(self) -> str:
        """The filters as a query string, for the pager's links."""
        if not self.is_bound:
            return ""
        kept = {k: v for k, v in self.data.items() if k in self.fields and v}
        from urllib.parse import urlencode

        return urlencode(kept)


def rows(posts: QuerySet[Post]) -> QuerySet[Post]:
    """Posts ready to show: latest time first, drafts without a time after; copies, tags,
    author and campaign fetched in a fixed number of queries, whatever the page size."""
    copies = PostTarget.objects.select_related("channel").order_by("channel__name", "pk")
    # `first_at` is the earliest time of the post's copies, kept on the post by the actions layer:
    # the page reads its 50 rows backwards on `post_ws_first` instead of finding every post's
    # earliest copy and sorting them all (bench/pages full size, 10,226 posts: see bench/README).
    # No join on the workspace (see `PostFilter.filtered`): nothing in a row reads it.
    return (
        posts.select_related("author", "campaign")
        .prefetch_related(Prefetch("targets", queryset=copies, to_attr="copies"), "tags")
        .order_by(F("first_at").desc(nulls_last=True), "-created_at", "-pk")
    )


@dataclass(frozen=True)
class Row:
    """A post as its row reads: first line, time, each copy's channel and status."""

    post: Post

    # Cached: the template reads each several times a row (the first line for the link and the
    # checkbox's label, the copies for the chips and the attention notes).
    @cached_property
    def copies(self) -> list[PostTarget]:
        return list(getattr(self.post, "copies", []))

    @cached_property
    def first_line(self) -> str:
        if self.post.title:
            return self.post.title
        text = next((c.text for c in self.copies if c.text.strip()), "")
        return text.strip().splitlines()[0] if text.strip() else str(self.post)

    @property
    def when(self) -> dt.datetime | None:
        return getattr(self.post, "first_at", None)

    @cached_property
    def attention(self) -> list[PostTarget]:
        """Copies that need a person: failed, unknown or held."""
        return [c for c in self.copies if c.status in (S.FAILED, S.UNKNOWN) or c.hold_reason]
