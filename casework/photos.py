"""Checking and re-encoding a case photo before it is stored.

A photo is accepted by what its bytes are, never by its file name or declared content type:
Pillow identifies the image from its content, and only JPEG, PNG and WebP pass. Limits: the
file size (settings.WANGGE_PHOTO_MAX_BYTES) and the pixel count
(settings.WANGGE_PHOTO_MAX_PIXELS), checked from the header before any pixel is decoded, so
a small file that unpacks into an enormous image (a decompression bomb) is refused cheaply.
A file that is truncated or damaged fails while decoding.

What is stored is a new image built from the decoded pixels alone: the EXIF orientation is
applied first, colours are converted to sRGB when the photo carries an ICC profile, the long
side is capped at MAX_LONG_SIDE, and nothing of the original's metadata (EXIF with its GPS
position and camera serial, XMP, comments, profiles) is carried over. Photos without
transparency become JPEG, photos with transparency WebP.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from grid.errors import InvalidInput

ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
MAX_LONG_SIDE = 2560
MAX_PHOTOS_AT_ONCE = 9
JPEG_QUALITY = 85
WEBP_QUALITY = 85
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class CleanPhoto:
    """A re-encoded photo, ready to be stored."""

    content: bytes
    content_type: str
    extension: str
    width: int
    height: int

    @property
    def size(self) -> int:
        return len(self.content)


def _megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _read(upload, *, name: str, limit: int) -> bytes:
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise InvalidInput(_too_big(name, declared, limit))
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(_too_big(name, declared or len(data), limit))
    if not data:
        raise InvalidInput(_("“%(name)s” is empty") % {"name": name})
    return data


def _too_big(name: str, size: int, limit: int) -> str:
    return _("“%(name)s” is %(size)s; a photo may be at most %(limit)s") % {
        "name": name,
        "size": _megabytes(size),
        "limit": _megabytes(limit),
    }


def _too_many_pixels(name: str, width: int | None, height: int | None, limit: int) -> str:
    if width is None or height is None:
        return _(
            "“%(name)s” has more than %(limit)s pixels; a photo may have at most %(limit)s"
        ) % {
            "name": name,
            "limit": f"{limit:,}",
        }
    return _(
        "“%(name)s” has %(pixels)s pixels (%(width)d × %(height)d); a photo may have at most "
        "%(limit)s"
    ) % {
        "name": name,
        "pixels": f"{width * height:,}",
        "width": width,
        "height": height,
        "limit": f"{limit:,}",
    }


def _to_srgb(image: Image.Image) -> Image.Image:
    """The image in sRGB when it carries an ICC profile that says otherwise. A profile that
    cannot be read is ignored: the pixels are kept as they are."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode) or image
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def photo_clean(upload, *, name: str | None = None) -> CleanPhoto:
    """The photo in `upload` (an uploaded file, or any binary file object) checked and
    re-encoded; InvalidInput (422) with the reason when it is refused."""
    name = name or getattr(upload, "name", None) or _("the photo")
    max_bytes = settings.WANGGE_PHOTO_MAX_BYTES
    max_pixels = settings.WANGGE_PHOTO_MAX_PIXELS
    data = _read(upload, name=name, limit=max_bytes)
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own limit and refuses above twice that; ours is checked
            # next, from the header, and decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise InvalidInput(_too_many_pixels(name, None, None, max_pixels)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(
            _("“%(name)s” is not an image; send a JPEG, PNG or WebP photo") % {"name": name}
        ) from exc
    if image.format not in ACCEPTED_FORMATS:
        raise InvalidInput(
            _("“%(name)s” is a %(format)s image; only JPEG, PNG and WebP photos are accepted")
            % {"name": name, "format": image.format or _("unknown")}
        )
    width, height = image.size
    if width * height > max_pixels:
        raise InvalidInput(_too_many_pixels(name, width, height, max_pixels))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
            image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise InvalidInput(
            _("“%(name)s” is truncated or damaged and cannot be read as a %(format)s image")
            % {"name": name, "format": ACCEPTED_FORMATS[image.format]}
        ) from exc
    image = _to_srgb(image)
    alpha = _has_alpha(image)
    image = image.convert("RGBA" if alpha else "RGB")
    image.thumbnail((MAX_LONG_SIDE, MAX_LONG_SIDE), Image.Resampling.LANCZOS)
    # A new image holding the pixels alone: nothing of the original's info dict (EXIF, XMP,
    # comments, ICC profile) can reach the encoder.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    out = io.BytesIO()
    if alpha:
        clean.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
        content_type, extension = "image/webp", ".webp"
    else:
        clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        content_type, extension = "image/jpeg", ".jpg"
    return CleanPhoto(
        content=out.getvalue(),
        content_type=content_type,
        extension=extension,
        width=clean.width,
        height=clean.height,
    )


def photos_clean(files: Sequence) -> list[CleanPhoto]:
    """Every file cleaned (a CleanPhoto is taken as it is), or one InvalidInput naming each
    refused file by its position (from 1) and reason."""
    if len(files) > MAX_PHOTOS_AT_ONCE:
        raise InvalidInput(
            ngettext(
                "at most %(max)d photo at once; got %(count)d",
                "at most %(max)d photos at once; got %(count)d",
                MAX_PHOTOS_AT_ONCE,
            )
            % {"max": MAX_PHOTOS_AT_ONCE, "count": len(files)},
            details={"photos": {"count": len(files)}},
        )
    cleaned: list[CleanPhoto] = []
    problems: dict[int, str] = {}
    for index, upload in enumerate(files, start=1):
        if isinstance(upload, CleanPhoto):
            cleaned.append(upload)
            continue
        try:
            cleaned.append(photo_clean(upload))
        except InvalidInput as exc:
            problems[index] = exc.message
    if problems:
        raise InvalidInput("; ".join(problems.values()), details={"photos": problems})
    return cleaned
