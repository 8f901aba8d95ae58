"""The engagement inbox: items from every channel, grouped into conversations, answered by replies.

An item is unique per channel and network id, so the same comment arriving by webhook and by
polling is stored once. A stream's cursor is written in the same transaction as the items it
covers: a crash either keeps both or neither, and the next poll resumes from the stored cursor.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from chorus.connectors.inbox import InboxEntry


class InboxSettings(models.Model):
    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="inbox_settings"
    )
    sla_minutes = models.PositiveIntegerField(_("first response target (minutes)"), default=240)
    # The most the inbox may spend on paid reads in a calendar month (UTC), all channels together
    # (X bills each post a read returns). 0: no paid reads.
    read_budget_usd = models.DecimalField(
        _("monthly budget for paid reads (USD)"), max_digits=8, decimal_places=2, default=Decimal("5.00")
    )

    class Meta:
        verbose_name = _("inbox settings")

    def __str__(self) -> str:
        return f"{self.workspace}: {self.sla_minutes} min"


class Cursor(models.Model):
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="inbox_cursors")
    stream = models.CharField(max_length=40)
    value = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "stream"], name="inbox_cursor_unique")]

    def __str__(self) -> str:
        return f"{self.channel_id}/{self.stream}: {self.value}"


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WAITING = "waiting", _("Waiting")
        CLOSED = "closed", _("Closed")

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="conversations"
    )
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="conversations")
    key = models.CharField(max_length=600)  # root id | author id (InboxEntry.conversation_key)
    root_id = models.CharField(max_length=500, blank=True)
    author_id = models.CharField(max_length=300)
    author_handle = models.CharField(max_length=300, blank=True)
    author_name = models.CharField(max_length=300, blank=True)
    target = models.ForeignKey(
        "content.PostTarget", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=12, blank=True)
    sentiment = models.FloatField(null=True, blank=True)  # -1 … 1, empty when not measured
    unread = models.PositiveIntegerField(default=0)
    items_count = models.PositiveIntegerField(default=0)
    first_item_at = models.DateTimeField(default=now)
    last_item_at = models.DateTimeField(default=now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # When the assignee (or the workspace's managers) were told it passed the first-response
    # target: once per conversation, so the scheduler's repeats never send it twice.
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    # Collision guard: who is writing an answer right now (a short-lived marker, renewed by htmx).
    composing_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    composing_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "key"], name="inbox_conversation_unique")]
        indexes = [
            # The list walks this index newest first and filters status/channel/assignee on the
            # way, stopping after one page (a (workspace, status, …) index made SQLite sort the
            # whole open set instead: 150 ms at 100k conversations).
            models.Index(fields=["workspace", "-last_item_at"], name="inbox_conv_ws_last"),
            # The navigation's unread counts on every page: only conversations with unread items.
            models.Index(
                fields=["workspace", "channel"], condition=models.Q(unread__gt=0), name="inbox_conv_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author_handle or self.author_id} on {self.channel_id}"

    @property
    def first_response_seconds(self) -> int | None:
        if self.first_response_at is None:
            return None
        return int((self.first_response_at - self.first_item_at).total_seconds())

    @property
    def resolution_seconds(self) -> int | None:
        if self.closed_at is None:
            return None
        return int((self.closed_at - self.first_item_at).total_seconds())

    def is_overdue(self, sla_minutes: int, at: dt.datetime | None = None) -> bool:
        if self.status == self.Status.CLOSED or self.first_response_at is not None:
            return False
        return (at or now()) - self.first_item_at > dt.timedelta(minutes=sla_minutes)


class InboxItem(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="inbox_items")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="items"
    )
    network_id = models.CharField(max_length=500)
    kind = models.CharField(max_length=20)
    author_id = models.CharField(max_length=300)
    author_handle = models.CharField(max_length=300, blank=True)
    author_name = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    url = models.URLField(max_length=800, blank=True)
    root_id = models.CharField(max_length=500, blank=True)
    parent_id = models.CharField(max_length=500, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()  # the network's time
    received_at = models.DateTimeField(default=now)
    via = models.CharField(max_length=10, default="poll")  # poll | webhook
    read = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "network_id"], name="inbox_item_unique")]
        indexes = [models.Index(fields=["conversation", "created_at"], name="inbox_item_conv")]

    def __str__(self) -> str:
        return f"{self.kind} {self.network_id}"

    def entry(self) -> InboxEntry:
        return InboxEntry(
            network_id=self.network_id,
            kind=self.kind,
            author_id=self.author_id,
            created_at=self.created_at,
            author_handle=self.author_handle,
            author_name=self.author_name,
            text=self.text,
            url=self.url,
            root_id=self.root_id,
            parent_id=self.parent_id,
            extra=dict(self.extra or {}),
        )


class Reply(models.Model):
    """An answer written in Chorus. Sent at most once: `sending` with an attempt id is committed
    before the network call; a timeout leaves `unknown`, settled by reading back (never resent)."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting", _("Awaiting approval")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Outcome unknown")
        REJECTED = "rejected", _("Rejected")
        DELETING = "deleting", _("Being deleted on the network")
        DELETED = "deleted", _("Deleted on the network")

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="replies")
    in_reply_to = models.ForeignKey(InboxItem, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempt_id = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    network_id = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=800, blank=True)
    error = models.TextField(blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the delete claim (sent -> deleting) was taken: a claim older than the lease is
    # released by the inbox sweep (the process may have died during the network call).
    deleting_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "created_at"], name="inbox_reply_conv")]

    def __str__(self) -> str:
        return f"reply {self.pk} ({self.status})"

    def idempotency_key(self) -> str:
        return f"chorus-reply-{self.uid}"


class WebhookDelivery(models.Model):
    """The digest of each signed webhook body received: a replay of the same body is ignored."""

    network = models.CharField(max_length=20)
    digest = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"{self.network} {self.digest[:12]}"


class SavedReply(models.Model):
    """A canned answer; {name}, {handle}, {channel} and {agent} are filled in when used."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="saved_replies"
    )
    name = models.CharField(_("name"), max_length=120)
    text = models.TextField(_("text"))

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def render(self, values: dict[str, Any]) -> str:
        text = self.text
        for key, value in values.items():
            text = text.replace("{" + key + "}", str(value))
        return text


class SavedView(models.Model):
    """A named set of the inbox list's filters (chorus.inbox.filtering): shared with the
    workspace (owner empty) or personal (seen only by its owner)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="inbox_views")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=80)
    filters = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["workspace", "owner"], name="inbox_view_ws_owner")]

    def __str__(self) -> str:
        return self.name

    @property
    def shared(self) -> bool:
        return self.owner_id is None
