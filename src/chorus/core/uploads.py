"""Uploads checked while they stream in.

Django's upload handlers store every file of a multipart request (in memory, or in a temporary
file) before any view sees it, so the size checks of the views (media.actions.upload, the bulk
import's parsing.check_size) would refuse a 50 GB file only after it had filled the disk. These
handlers, Django's two with a budget, count each file's bytes as they arrive: past the largest
budget any upload has (CHORUS_MEDIA_MAX_BYTES) they drop what they stored, store nothing more,
keep counting what they discard, and hand the view a stand-in with the file's true size and no
content (`OverBudgetUpload`). The views then refuse it by that size with their usual message.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import (
    FileUploadHandler,
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)


def budget() -> int:
    """The most bytes any one uploaded file may have (the media library's limit, the largest)."""
    return int(getattr(settings, "CHORUS_MEDIA_MAX_BYTES", 500 * 1024 * 1024))


class OverBudgetUpload(InMemoryUploadedFile):
    """What was sent past the budget: its name and true size, none of its bytes."""

    over_budget = True


class _Budgeted(FileUploadHandler):
    """Mixed into Django's handlers (before them): counts, and stops storing past the budget."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        # Set first: the memory handler's new_file raises StopFutureHandlers when it takes the file.
        self.received = 0
        self.over = False
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if not getattr(self, "activated", True):  # the memory handler passes large requests on
            return super().receive_data_chunk(raw_data, start)  # type: ignore[no-any-return]
        self.received += len(raw_data)
        if self.over:
            return None
        if self.received > budget():
            self.over = True
            file = getattr(self, "file", None)
            if file is not None:
                file.close()  # a temporary file is deleted on close; memory is freed
            return None
        return super().receive_data_chunk(raw_data, start)  # type: ignore[no-any-return]

    def file_complete(self, file_size: int) -> Any:
        if self.over:
            return OverBudgetUpload(
                io.BytesIO(),
                self.field_name,
                self.file_name,
                self.content_type,
                self.received,
                self.charset,
                self.content_type_extra,
            )
        return super().file_complete(file_size)


class BudgetedMemoryFileUploadHandler(_Budgeted, MemoryFileUploadHandler):
    pass


class BudgetedTemporaryFileUploadHandler(_Budgeted, TemporaryFileUploadHandler):
    pass
