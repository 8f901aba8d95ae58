from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.timezone import now

from chorus.core import vault


class MastodonApp(models.Model):
    """Chorus's OAuth app on one instance, registered once and reused by every channel there.

    A registration is bound to its redirect URI (the instance refuses any other), so a deployment
    reached under another callback URL registers again instead of reusing a broken one.
    """

    instance_url = models.URLField(max_length=300)
    redirect_uri = models.URLField(max_length=500)
    client_id = models.CharField(max_length=300)
    client_secret_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(default=now)

    objects: ClassVar[models.Manager[MastodonApp]] = models.Manager()  # typed for mypy before install

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance_url", "redirect_uri"], name="mastodon_app_per_instance")
        ]

    def __str__(self) -> str:
        return self.instance_url

    @property
    def client_secret(self) -> str:
        secret: Any = vault.decrypt(self.client_secret_encrypted).get("client_secret", "")
        return str(secret)

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.client_secret_encrypted = vault.encrypt({"client_secret": value})
