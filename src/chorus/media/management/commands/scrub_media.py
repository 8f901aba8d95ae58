"""`chorus manage scrub_media`: removes location and identity metadata from files stored before
uploads were scrubbed (run once after upgrading; safe to run again)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from chorus.media.actions import MediaRejected, rescrub
from chorus.media.models import MediaAsset


class Command(BaseCommand):
    help = "Remove location and identity metadata from every stored media file."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = failed = last = 0
        assets = MediaAsset.objects.select_related("workspace").order_by("pk")
        # Pages read whole: no cursor open while rescrub writes (on a running SQLite Chorus, an
        # older read snapshot cannot start writing and would fail with "database is locked").
        while page := list(assets.filter(pk__gt=last)[:200]):
            last = page[-1].pk
            for asset in page:
                try:
                    if rescrub(asset):
                        changed += 1
                except (MediaRejected, OSError) as exc:
                    failed += 1
                    self.stderr.write(f"asset {asset.pk}: {getattr(exc, 'reason', exc)}")
        self.stdout.write(f"{changed} file(s) scrubbed, {failed} could not be")
