"""Biometric specimens for tests: public photographs shipped with scikit-image and synthetic fingers.
Never real travellers' data. Cached: each is made once per test process."""

from __future__ import annotations

import base64
import io
from functools import lru_cache

import numpy as np
from PIL import Image


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


@lru_cache(maxsize=None)
def face_png(person: int = -1) -> bytes:
    """-1: the astronaut portrait (cropped to head and shoulders); 0-99: a face of lfw_subset, enlarged."""
    from skimage import data, transform

    if person < 0:
        return _png(data.astronaut()[20:300, 90:360])
    face = data.lfw_subset()[person]
    return _png((transform.resize(face, (200, 200), order=3) * 255).astype(np.uint8))


@lru_cache(maxsize=None)
def finger_png(finger: int, impression: int = 0) -> bytes:
    from smartborders.biometrics import synthetic as syn

    return syn.to_png(syn.impression(_master(finger), impression))


@lru_cache(maxsize=None)
def _master(finger: int):  # type: ignore[no-untyped-def]
    from smartborders.biometrics import synthetic as syn

    return syn.master(finger)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def four_fingers(person: int, impression: int = 0, hand: str = "right") -> dict[str, str]:
    """The four fingers of one hand of a synthetic person (base64 PNGs), as EES Art. 17(1)(c) enrols."""
    return {f"{hand}_{k}": b64(finger_png(1000 + 10 * person + i, impression))
            for i, k in enumerate(("index", "middle", "ring", "little"))}
