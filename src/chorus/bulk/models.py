from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    """One uploaded file: parsed once, checked (dry run), then imported. The page polls it, so
    the user can leave and come back."""

    class Status(models.TextChoices):
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    class DateOrder(models.TextChoices):
        ISO = "iso", _("ISO 8601 (2026-03-29 09:00)")
        DAY_FIRST = "dmy", _("Day first (29/03/2026 09:00)")
        MONTH_FIRST = "mdy", _("Month first (03/29/2026 09:00)")

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(_("file"), max_length=255)
    date_order = models.CharField(max_length=3, choices=DateOrder.choices, default=DateOrder.ISO)
    default_channels = models.JSONField(default=list, blank=True)  # channel ids for rows without any
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CHECKING)
    progress = models.PositiveIntegerField(default=0)  # rows handled by the current step
    total = models.PositiveIntegerField(default=0)
    headers = models.JSONField(default=list, blank=True)  # as in the file, for the bad-rows CSV
    # The upload's CSV shape ({"delimiter", "encoding"}; the encoding's name carries the BOM):
    # the bad-rows CSV is written the same way. Empty for jobs from before it was kept.
    file_format = models.JSONField(default=dict, blank=True)
    rows = models.JSONField(default=list, blank=True)  # [{"row": n, "cells": [...]}]
    report = models.JSONField(default=dict, blank=True)  # per-row outcome of the last check
    imported = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("import")
        indexes = [models.Index(fields=["workspace", "-created_at"], name="importjob_ws_recent")]

    def __str__(self) -> str:
        return self.filename

    @property
    def percent(self) -> int:
        return int(100 * self.progress / self.total) if self.total else 0

    @property
    def running(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.IMPORTING)


class ImportedRow(models.Model):
    """A row already imported into a workspace, by content fingerprint: uploading the same file
    again (or the same row in another file) does not create the post twice."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64)
    job = models.ForeignKey(ImportJob, null=True, on_delete=models.SET_NULL, related_name="imported_rows")
    post = models.ForeignKey("content.Post", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "fingerprint"], name="imported_row_once_per_ws")
        ]

    def __str__(self) -> str:
        return self.fingerprint[:12]
