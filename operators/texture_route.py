"""The ``subject`` option of Normal Map, Depth Relief and One-Click Material: portrait maps (a
provider's depth or normals, made for people) or texture maps (``core.texture_maps``: height,
normals and cavity from any texture, offline).

AUTO asks the offline person check (``OfflineProvider.person_evidence``: the face detector,
then the person mask) whatever provider makes the maps, since it needs no network. Its answer
is kept in the answer cache like a provider's (in memory), so a re-run (Adjust Last
Operation) decides at once; the texture maps themselves are local work, never a request, and
always run on the worker thread (never inside ``cache.only_cached``). The report ends with which
maps were made and why (``report_suffix``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from bpy.props import BoolProperty, EnumProperty, FloatProperty

from .. import providers
from ..core import texture_maps
from ..core.errors import CancelToken, InputError
from ..providers import cache

SUBJECTS = (
    ("AUTO", "Auto", "Portrait maps when a person is found in the picture (a face or a "
                     "person's outline), texture maps otherwise"),
    ("PORTRAIT", "Portrait", "A photo of a person: depth and normals of the person from the "
                             "chosen provider"),
    ("TEXTURE", "Texture", "Any surface (bricks, wood, stone, fabric, a landscape): height, "
                           "normals and cavity from the texture itself, offline"),
)
PORTRAIT, TEXTURE = "PORTRAIT", "TEXTURE"
FLAT = 1.0 / 255.0      # a height range below this: one flat colour, no texture to map


@dataclasses.dataclass
class Route:
    """Which maps a run made and why; set by the work (any thread), read by finish()."""

    kind: str = ""
    reason: str = ""


class SubjectOptions:
    """Mix into a JobOperator before it (its ``needs_provider`` follows the subject)."""

    subject: EnumProperty(
        name="Subject", items=SUBJECTS, default="AUTO",
        description="What the picture shows: a person (portrait maps) or a surface (texture "
                    "maps)")
    detail_scale: FloatProperty(
        name="Detail Scale", default=texture_maps.DEFAULT_DETAIL_SCALE, min=0.5,
        soft_max=256.0, subtype="PIXEL",
        description="Texture maps: size in pixels of the largest features that keep their "
                    "full depth (a mortar line, a pebble). Larger: broader, rounder relief; "
                    "smaller: only the fine grain")
    invert: BoolProperty(
        name="Invert", default=False,
        description="Texture maps: swap what reads low and what reads high (when grooves, "
                    "mortar or gaps come out raised)")
    tileable: BoolProperty(
        name="Tileable", default=False,
        description="Texture maps: the texture is seamless; the maps wrap around its edges "
                    "so they stay seamless too")

    @property
    def needs_provider(self) -> bool:
        return self.subject != TEXTURE

    @staticmethod
    def draw_subject(layout, props):
        layout.prop(props, "subject")
        col = layout.column(align=True)
        col.active = props.subject != PORTRAIT
        col.prop(props, "detail_scale")
        col.prop(props, "invert")
        col.prop(props, "tileable")

    def routed(self, context, rgb, portrait: Callable[[CancelToken], Any] | None,
               texture: Callable[[texture_maps.TextureMaps, CancelToken], Any]):
        """The job's work: decide the subject, then ``portrait(token)`` or
        ``texture(maps, token)`` (``maps`` from ``core.texture_maps`` with this operator's
        options). Call from prepare() on the main thread; ``self.route`` says what ran."""
        subject = self.subject
        checker = person_checker() if subject == "AUTO" else None
        options = dict(detail_scale=self.detail_scale, invert=self.invert,
                       tileable=self.tileable)
        route = self._route = Route()

        def work(token):
            route.kind, route.reason = decide(subject, checker, rgb, token)
            if route.kind == PORTRAIT:
                return portrait(token)
            if cache.serving_only_cached():     # seconds on a 4K texture: never on the UI
                raise cache.CacheMiss("texture maps")
            maps = texture_maps.texture_maps(rgb, cancel=token, **options)
            if maps.light_is_low:
                route.reason += ("; light lines read as grooves (Invert if they should "
                                 "stand out)")
            return texture(maps, token)

        return work

    @property
    def route(self) -> Route:
        return getattr(self, "_route", None) or Route()

    def report_suffix(self) -> str:
        """Which maps were made and why, said last in the report."""
        return self.route.reason


def require_relief(maps: texture_maps.TextureMaps) -> None:
    """A relief needs some height: a picture of one flat colour is a message (its maps, flat,
    are still fine for a material)."""
    if np.ptp(maps.height) < FLAT:
        raise InputError("Nothing to build a relief from: the picture has no subject (no "
                         "person found) and no texture (it is one flat colour). Choose "
                         "another image")


def person_checker():
    """The offline provider behind the answer cache, for the person check."""
    return cache.CachedProvider(providers.create("OFFLINE"))


def decide(subject: str, checker, rgb, token: CancelToken) -> tuple[str, str]:
    """(PORTRAIT or TEXTURE, the reason the report gives)."""
    if subject == PORTRAIT:
        return PORTRAIT, "portrait maps (Subject: Portrait)"
    if subject == TEXTURE:
        return TEXTURE, "texture maps (Subject: Texture)"
    token.progress(0.0, "looking for a person")
    found = checker.person_check(rgb)
    if bool(found.image):
        return PORTRAIT, f"portrait maps: {found.note} found"
    return TEXTURE, "texture maps: no person found"
