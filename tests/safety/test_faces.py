"""Faces: found by OpenCV's bundled Haar cascade on a public-domain photo (Grace Hopper, U.S. Navy,
shipped in matplotlib's sample data) and a group photo generated from it, turned on its side with
an EXIF orientation, blurred per face into a new version that the composer uses,
and a workspace rule that keeps a contributor's photo out of the composer until its faces are reviewed."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageStat

from chorus.approvals import intake
from chorus.core.models import AuditEvent
from chorus.media import actions as media
from chorus.media import consent, faces
from chorus.media.models import MediaAsset, MediaFace
from tests.conftest import Cast

HOPPER = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def _two_faces(tmp_path: Path) -> Path:
    with Image.open(HOPPER) as one:
        pair = Image.new("RGB", (one.width * 2 + 40, one.height), "white")
        pair.paste(one, (0, 0))
        pair.paste(one.transpose(Image.Transpose.FLIP_LEFT_RIGHT), (one.width + 40, 0))
    path = tmp_path / "two.jpg"
    pair.save(path, "JPEG", quality=92)
    return path


def _upload(cast: Cast, path: Path) -> MediaAsset:
    asset, _created = media.upload(
        cast.workspace, cast.owner, SimpleUploadedFile(path.name, path.read_bytes())
    )
    return asset


def _region_detail(asset: MediaAsset, face: MediaFace) -> float:
    with default_storage.open(asset.path, "rb") as handle, Image.open(handle) as image:
        crop = image.convert("L").crop((face.x, face.y, face.x + face.w, face.y + face.h))
        edges = crop.filter(__import__("PIL.ImageFilter", fromlist=["FIND_EDGES"]).FIND_EDGES)
        return ImageStat.Stat(edges).mean[0]


def test_it_finds_both_faces_and_none_in_a_plain_image(cast: Cast, tmp_path):
    asset = _upload(cast, _two_faces(tmp_path))
    found = faces.detect(asset)
    assert len(found) == 2
    left, right = sorted(found, key=lambda f: f.x)
    assert left.x < 512 < right.x and all(f.w > 150 for f in found)
    plain = tmp_path / "plain.png"
    Image.new("RGB", (600, 400), "gray").save(plain)
    assert faces.detect(_upload(cast, plain)) == []


def test_one_click_blur_makes_a_new_version_the_composer_uses(cast: Cast, tmp_path):
    asset = _upload(cast, _two_faces(tmp_path))
    left, right = sorted(faces.detect(asset), key=lambda f: f.x)
    client = cast.client_for(cast.members["editor"])
    page = client.get(reverse("media:detail", args=[cast.workspace.slug, asset.pk])).content.decode()
    assert page.count('class="face-box face-pending"') == 2
    before_left, before_right = _region_detail(asset, left), _region_detail(asset, right)

    response = client.post(
        reverse("media:faces", args=[cast.workspace.slug, asset.pk]), {"action": "blur", "face": left.pk}
    )
    assert response.status_code == 302
    asset.refresh_from_db()
    assert asset.version == 2
    assert _region_detail(asset, left) < before_left / 4  # the detail of the face is gone
    assert abs(_region_detail(asset, right) - before_right) < before_right * 0.1  # the other one untouched
    # The composer's picker hands out the asset's path, which now holds the blurred version.
    picker = client.get(reverse("media:picker", args=[cast.workspace.slug])).content.decode()
    assert f'data-path="{asset.path}"' in picker
    item = media.as_post_media(asset)
    with default_storage.open(item["path"], "rb") as handle, Image.open(io.BytesIO(handle.read())) as image:
        assert image.size == (asset.width, asset.height)
    assert (
        faces.find_faces(Image.open(default_storage.open(asset.path, "rb"))) != []
    )  # the right face remains
    client.post(
        reverse("media:faces", args=[cast.workspace.slug, asset.pk]), {"action": "pixelate", "face": right.pk}
    )
    asset.refresh_from_db()
    assert asset.version == 3
    assert faces.find_faces(Image.open(default_storage.open(asset.path, "rb"))) == []
    assert AuditEvent.objects.filter(action="media.face_blurred").count() == 2


def test_the_rule_keeps_a_contributors_photo_out_of_the_composer_until_reviewed(cast: Cast, tmp_path):
    consent.set_rules(cast.workspace, actor=cast.owner, face_review_for_contributors=True)
    person, _raw = intake.invite(cast.workspace, actor=cast.owner, name="Narrator")
    intake.submit(
        person, title="Portrait", text="x", consent=True,
        photos=[SimpleUploadedFile("hopper.jpg", HOPPER.read_bytes())],
    )  # fmt: skip
    asset = MediaAsset.objects.get()
    [face] = MediaFace.objects.filter(asset=asset)
    client = cast.client_for(cast.owner)
    picker = reverse("media:picker", args=[cast.workspace.slug])
    assert f'data-media-id="{asset.pk}"' not in client.get(picker).content.decode()
    faces.keep(face, actor=cast.owner)
    assert f'data-media-id="{asset.pk}"' in client.get(picker).content.decode()


def _group_photo_turned(tmp_path: Path) -> tuple[Path, list[tuple[int, int, int, int]]]:
    """A generated group photo: the portrait at three sizes on a gradient, stored turned on its
    side with EXIF orientation 6 (as a phone held upright writes it). Returns the file and where
    each portrait is in the upright picture."""
    canvas = Image.linear_gradient("L").resize((1400, 700)).convert("RGB")
    placed = []
    x = 20
    with Image.open(HOPPER) as one:
        for scale in (0.45, 0.7, 1.0):
            copy = one.resize((int(one.width * scale), int(one.height * scale)))
            canvas.paste(copy, (x, 700 - copy.height))
            placed.append((x, 700 - copy.height, copy.width, copy.height))
            x += copy.width + 60
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    path = tmp_path / "group.jpg"
    canvas.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", quality=92, exif=exif)
    return path, placed


def test_a_turned_group_photo_from_a_contributor_gets_upright_boxes_and_each_face_blurs(cast: Cast, tmp_path):
    """Orientation is applied before detection (the stored file is upright), each face of a
    generated group photo is found where it is, and blurring all of them leaves none to find."""
    consent.set_rules(cast.workspace, actor=cast.owner, face_review_for_contributors=True)
    path, placed = _group_photo_turned(tmp_path)
    _person, raw = intake.invite(cast.workspace, actor=cast.owner, name="Narrator")
    response = Client().post(
        f"/contribute/{raw}/",
        {
            "title": "Us",
            "text": "x",
            "consent": "1",
            "photos": [SimpleUploadedFile(path.name, path.read_bytes())],
        },
    )
    assert response.status_code == 302
    asset = MediaAsset.objects.get()
    assert (asset.width, asset.height) == (1400, 700)  # upright
    found = sorted(MediaFace.objects.filter(asset=asset), key=lambda f: f.x)
    assert len(found) == 3
    for face, (px, py, pw, ph) in zip(found, placed, strict=True):
        cx, cy = face.x + face.w // 2, face.y + face.h // 2
        assert px < cx < px + pw and py < cy < py + ph, (face.x, face.y, (px, py, pw, ph))
    client = cast.client_for(cast.members["editor"])
    picker = reverse("media:picker", args=[cast.workspace.slug])
    assert f'data-media-id="{asset.pk}"' not in client.get(picker).content.decode()
    for face in found:
        client.post(
            reverse("media:faces", args=[cast.workspace.slug, asset.pk]), {"action": "blur", "face": face.pk}
        )
    asset.refresh_from_db()
    assert asset.version == 4
    with default_storage.open(asset.path, "rb") as handle, Image.open(handle) as image:
        assert faces.find_faces(image) == []
    assert f'data-media-id="{asset.pk}"' in client.get(picker).content.decode()  # every face reviewed
