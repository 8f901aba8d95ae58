"""Tell people: an in-app notification now, an email after the transaction commits."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from chorus.accounts.models import User, Workspace
from chorus.core.models import Notification

log = logging.getLogger(__name__)


def notify(
    users: Iterable[User],
    *,
    workspace: Workspace | None,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    email: bool = True,
) -> int:
    recipients = {u.pk: u for u in users if u is not None and u.is_active}
    Notification.objects.bulk_create(
        Notification(user=u, workspace=workspace, kind=kind, title=title, body=body, url=url)
        for u in recipients.values()
    )
    if email and recipients:
        addresses = sorted(u.email for u in recipients.values())
        link = f"{settings.CHORUS_BASE_URL}{url}" if url else ""

        def _send() -> None:
            try:
                send_mail(
                    subject=title,
                    message=f"{body}\n\n{link}".strip(),
                    from_email=None,
                    recipient_list=addresses,
                )
            except Exception:
                # The in-app notification exists; a mail outage must not undo the state change.
                log.exception("notification email %s could not be sent", kind)

        transaction.on_commit(_send)
    return len(recipients)
