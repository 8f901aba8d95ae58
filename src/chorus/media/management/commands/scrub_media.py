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
        changed = failed = 0
        for asset in MediaAsset.objects.select_related("workspace").order_by("pk").iterator(chunk_size=200):
            try:
                if rescrub(asset):
                    changed += 1
            except (MediaRejected, OSError) as exc:
                failed += 1
                self.stderr.write(f"asset {asset.pk}: {getattr(exc, 'reason', exc)}")
        self.stdout.write(f"{changed} file(s) scrubbed, {failed} could not be")
