"""Case photos: accepted by content (JPEG, PNG, WebP), re-encoded with every bit of metadata
gone, and refused with a precise reason otherwise."""

from __future__ import annotations

import io
import os
import re
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image, ImageCms, PngImagePlugin

from casework.models import IncidentPhoto, PhotoStage
from casework.photos import MAX_LONG_SIDE, MAX_PHOTOS_AT_ONCE, photo_clean
from casework.services.photos import incident_photos_add
from grid.errors import InvalidInput
from tests.fixtures.casework import report_case

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F
SERIAL = 0xA431  # BodySerialNumber


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "WanggePhone"
    exif[SERIAL] = "SN-0042-SECRET"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (27.0, 49.0, 12.5), 3: "E", 4: (114.0, 55.0, 3.25)})
    return exif


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def gradient(width: int, height: int, mode: str = "RGB") -> Image.Image:
    image = Image.new("RGB", (width, height))
    image.putdata([((x * 7) % 256, (y * 5) % 256, 90) for y in range(height) for x in range(width)])
    return image.convert(mode)


def assert_no_metadata(content: bytes) -> None:
    reopened = Image.open(io.BytesIO(content))
    assert not reopened.getexif()
    assert not reopened.getexif().get_ifd(GPS_IFD)
    for key in ("exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp"):
        assert key not in reopened.info, key
    for secret in (b"Exif", b"WanggePhone", b"SN-0042-SECRET", b"GPS", b"secret-note"):
        assert secret not in content, secret


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("JPEG", {"quality": 90}),
        ("PNG", {}),
        ("WEBP", {"quality": 90}),
    ],
)
def test_jpeg_png_and_webp_are_accepted_and_lose_their_metadata(fmt, options):
    original = encoded(gradient(120, 80), fmt, exif=exif_with_gps(), **options)
    assert b"WanggePhone" in original  # the test image does carry the metadata
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    clean = photo_clean(upload(original, name=f"p.{fmt.lower()}"))
    assert (clean.content_type, clean.extension) == ("image/jpeg", ".jpg")
    assert (clean.width, clean.height) == (120, 80)
    assert clean.size == len(clean.content)
    assert Image.open(io.BytesIO(clean.content)).format == "JPEG"
    assert_no_metadata(clean.content)


def test_png_text_chunks_and_jpeg_comments_are_dropped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-note")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret-note</x:xmpmeta>")
    png = encoded(gradient(40, 30), "PNG", pnginfo=info)
    assert b"secret-note" in png
    assert_no_metadata(photo_clean(upload(png)).content)
    jpeg = encoded(gradient(40, 30), "JPEG", comment=b"secret-note")
    assert b"secret-note" in jpeg
    assert_no_metadata(photo_clean(upload(jpeg)).content)


def test_the_exif_orientation_is_applied_before_it_is_dropped():
    # Orientation 6: the camera was turned; viewers rotate the stored 120 x 80 pixels 90°
    # clockwise. The clean photo holds the upright 80 x 120 image and no orientation tag.
    image = gradient(120, 80)
    image.paste((255, 0, 0), (0, 0, 10, 10))  # a red corner at the stored top left
    clean = photo_clean(upload(encoded(image, "JPEG", exif=exif_with_gps(6), quality=95)))
    assert (clean.width, clean.height) == (80, 120)
    upright = Image.open(io.BytesIO(clean.content)).convert("RGB")
    red, green, blue = upright.getpixel((75, 4))  # now the top right
    assert red > 200 and green < 60 and blue < 60
    assert ORIENTATION not in Image.open(io.BytesIO(clean.content)).getexif()


def test_the_long_side_is_capped():
    clean = photo_clean(upload(encoded(Image.new("RGB", (3000, 1000), (1, 2, 3)), "PNG")))
    assert (clean.width, clean.height) == (MAX_LONG_SIDE, round(1000 * MAX_LONG_SIDE / 3000))


def test_transparency_is_kept_as_webp():
    image = Image.new("RGBA", (50, 40), (0, 128, 255, 0))
    image.paste((255, 0, 0, 255), (10, 10, 20, 20))
    clean = photo_clean(upload(encoded(image, "PNG", exif=exif_with_gps()), name="a.png"))
    assert (clean.content_type, clean.extension) == ("image/webp", ".webp")
    reopened = Image.open(io.BytesIO(clean.content))
    assert reopened.format == "WEBP" and reopened.mode == "RGBA"
    assert reopened.getpixel((0, 0))[3] == 0
    assert_no_metadata(clean.content)


def test_cmyk_and_palette_images_become_rgb():
    cmyk = photo_clean(upload(encoded(gradient(30, 20, "CMYK"), "JPEG")))
    assert Image.open(io.BytesIO(cmyk.content)).mode == "RGB"
    palette = photo_clean(upload(encoded(gradient(30, 20, "P"), "PNG")))
    assert Image.open(io.BytesIO(palette.content)).mode == "RGB"


@pytest.mark.parametrize("readable", [True, False])
def test_an_icc_profile_is_applied_and_dropped(readable):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    profile = srgb if readable else b"acsp" + b"\x07" * 200  # a damaged profile is ignored
    original = encoded(Image.new("RGB", (30, 20), (200, 100, 50)), "PNG", icc_profile=profile)
    assert Image.open(io.BytesIO(original)).info["icc_profile"] == profile
    clean = photo_clean(upload(original))
    reopened = Image.open(io.BytesIO(clean.content))
    assert "icc_profile" not in reopened.info
    assert b"acsp" not in clean.content
    red, green, blue = reopened.convert("RGB").getpixel((15, 10))
    assert abs(red - 200) <= 3 and abs(green - 100) <= 3 and abs(blue - 50) <= 3


# --- refusals --------------------------------------------------------------------------------


def refusal(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> str:
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        photo_clean(upload(data, name=name, content_type=content_type))
    return caught.value.message


def test_a_gif_is_refused_even_named_jpg():
    gif = encoded(gradient(20, 20), "GIF")
    assert refusal(gif, name="cat.jpg") == (
        "“cat.jpg” is a GIF image; only JPEG, PNG and WebP photos are accepted"
    )


@pytest.mark.parametrize(
    "data",
    [b"just some text, renamed", b"%PDF-1.7\n1 0 obj <<>> endobj\n", b"\xff\xd8\xff" + b"\0" * 40],
)
def test_something_that_is_not_an_image_is_refused(data):
    assert refusal(data, name="evidence.jpg") == (
        "“evidence.jpg” is not an image; send a JPEG, PNG or WebP photo"
    )


def test_an_empty_file_is_refused():
    assert refusal(b"", name="empty.jpg") == "“empty.jpg” is empty"


def test_an_oversize_file_is_refused(settings):
    settings.WANGGE_PHOTO_MAX_BYTES = 2048
    data = encoded(Image.frombytes("RGB", (100, 100), os.urandom(30_000)), "PNG")
    assert len(data) > 2048
    assert re.fullmatch(
        r"“big\.png” is \d+\.\d KB; a photo may be at most 2\.0 KB", refusal(data, name="big.png")
    )
    settings.WANGGE_PHOTO_MAX_BYTES = 10 * 1024 * 1024
    huge = SimpleUploadedFile("huge.jpg", b"\0" * (11 * 1024 * 1024))
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        photo_clean(huge)
    assert caught.value.message == "“huge.jpg” is 11.0 MB; a photo may be at most 10.0 MB"


def test_too_many_pixels_is_refused_from_the_header(settings):
    settings.WANGGE_PHOTO_MAX_PIXELS = 10_000
    data = encoded(Image.new("L", (200, 100)), "PNG")
    assert refusal(data, name="wide.png") == (
        "“wide.png” has 20,000 pixels (200 × 100); a photo may have at most 10,000"
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG declaring width × height pixels, with one tiny compressed row: a decompression
    bomb's header, which must be refused before any pixel is decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("width", "height"), [(10_000, 10_000), (60_000, 60_000)])
def test_a_decompression_bomb_is_refused(width, height):
    bomb = png_header_only(width, height)
    assert len(bomb) < 200
    message = refusal(bomb, name="bomb.png")
    assert message.startswith("“bomb.png” has ")
    assert "a photo may have at most 50,000,000" in message


@pytest.mark.parametrize(
    ("fmt", "name"), [("JPEG", "cut.jpg"), ("PNG", "cut.png"), ("WEBP", "cut.webp")]
)
def test_a_truncated_image_is_refused(fmt, name):
    data = encoded(gradient(200, 150), fmt)
    label = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}[fmt]
    message = refusal(data[: len(data) // 2], name=name)
    assert message in (
        f"“{name}” is truncated or damaged and cannot be read as a {label} image",
        f"“{name}” is not an image; send a JPEG, PNG or WebP photo",
    )
    if fmt != "WEBP":
        # JPEG and PNG headers survive the cut: the damage is found while decoding
        assert "truncated or damaged" in message


# --- storing ---------------------------------------------------------------------------------


def test_photos_are_stored_under_random_names(report_world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    incident = report_case(report_world).incident
    actor = report_world.user("inspector-a")
    files = [
        upload(encoded(gradient(64, 48), "JPEG"), name="我的照片.jpg"),
        upload(encoded(gradient(64, 48), "PNG"), name="我的照片.jpg"),
    ]
    photos = incident_photos_add(
        actor=actor, incident=incident, files=files, stage=PhotoStage.HANDLED
    )
    assert len(photos) == 2
    names = [photo.image.name for photo in IncidentPhoto.objects.filter(incident=incident)]
    assert len(set(names)) == 2
    for name in names:
        assert re.fullmatch(r"incident-photos/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", name), name
    for photo in IncidentPhoto.objects.filter(incident=incident):
        stored = (tmp_path / photo.image.name).read_bytes()
        assert photo.size == len(stored)
        assert (photo.width, photo.height, photo.content_type) == (64, 48, "image/jpeg")
        assert (photo.stage, photo.uploaded_by) == (PhotoStage.HANDLED, actor)
        assert_no_metadata(stored)


def test_one_bad_file_stores_none(report_world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    incident = report_case(report_world).incident
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        incident_photos_add(
            actor=None,
            incident=incident,
            files=[
                upload(encoded(gradient(10, 10), "JPEG")),
                upload(encoded(gradient(10, 10), "GIF"), name="x.gif"),
                upload(b"text", name="y.jpg"),
            ],
            stage=PhotoStage.CHECK,
        )
    assert set(caught.value.details["photos"]) == {2, 3}
    assert not IncidentPhoto.objects.exists()
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


def test_too_many_photos_or_an_unknown_stage_are_refused(report_world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    incident = report_case(report_world).incident
    one = encoded(gradient(10, 10), "JPEG")
    with pytest.raises(InvalidInput):
        incident_photos_add(
            actor=None,
            incident=incident,
            files=[upload(one) for _ in range(MAX_PHOTOS_AT_ONCE + 1)],
            stage=PhotoStage.REPORT,
        )
    with pytest.raises(InvalidInput) as caught:
        incident_photos_add(actor=None, incident=incident, files=[upload(one)], stage="selfie")
    assert "stage" in caught.value.details
    assert not IncidentPhoto.objects.exists()
