"""On the scaled shape media live in an S3-compatible bucket (here moto's S3 server, an imitation
of S3): the short-lived signed URL Chorus hands out (the one Instagram and Threads download from)
gives the clean file, and a private original is kept under its own prefix, never that URL."""

from __future__ import annotations

from pathlib import Path

import httpx
from django.core.files.uploadedfile import SimpleUploadedFile

from chorus.connectors.meta.media import public_url
from chorus.media import actions, consent
from chorus.media.storage import private_storage
from tests.conftest import Cast
from tests.safety.files import (
    assert_image_has_no_location,
    assert_video_has_no_location,
    jpeg_with_location,
    video_with_location,
)
from tests.test_object_storage import CREDENTIALS, _client, moto_s3_server, s3_imitation  # noqa: F401


def test_the_signed_bucket_url_gives_the_clean_file_and_the_original_stays_private(
    cast: Cast,
    settings,
    tmp_path: Path,
    s3_imitation: str,  # noqa: F811
) -> None:
    settings.CHORUS_S3_BUCKET = "chorus-media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "chorus-media", "endpoint_url": s3_imitation, "region_name": "us-east-1",
                "access_key": CREDENTIALS["aws_access_key_id"], "secret_key": CREDENTIALS["aws_secret_access_key"],
                "querystring_auth": True, "querystring_expire": 300, "file_overwrite": False,
                "signature_version": "s3v4",
            },
        },
    }  # fmt: skip
    consent.set_rules(cast.workspace, actor=cast.owner, keep_private_originals=True)
    photo_path = jpeg_with_location(tmp_path / "photo.jpg", orientation=6)
    photo, _created = actions.upload(
        cast.workspace, cast.owner, SimpleUploadedFile(photo_path.name, photo_path.read_bytes())
    )
    clip_path = video_with_location(tmp_path / "clip.mp4")
    clip, _created = actions.upload(
        cast.workspace, cast.owner, SimpleUploadedFile(clip_path.name, clip_path.read_bytes())
    )
    keys = {o["Key"] for o in _client(s3_imitation).list_objects_v2(Bucket="chorus-media")["Contents"]}
    assert photo.path in keys and clip.path in keys  # the files are in the bucket, not on this disk

    url = public_url(photo.path)
    assert url.startswith(f"{s3_imitation}/chorus-media/{photo.path}?") and "X-Amz-Signature=" in url
    assert_image_has_no_location(httpx.get(url, timeout=30).raise_for_status().content)
    assert_video_has_no_location(
        httpx.get(public_url(clip.path), timeout=30).raise_for_status().content, tmp_path
    )
    thumb = httpx.get(public_url(photo.thumbnail), timeout=30).raise_for_status().content
    assert_image_has_no_location(thumb)

    # The original, with its GPS, is kept under private/ and is no media item's path.
    assert photo.private_original and f"private/{photo.private_original}" in keys
    assert private_storage().open(photo.private_original).read() == photo_path.read_bytes()
    assert actions.as_post_media(photo)["path"] != photo.private_original
    unsigned = f"{s3_imitation}/chorus-media/private/{photo.private_original}"
    # Chorus never makes an object public-read: without a signature the bucket refuses it.
    assert httpx.get(unsigned, timeout=30).status_code == 403
