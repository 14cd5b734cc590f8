"""mapsmith.cleanup_paint_mask / cleanup_apply / cleanup_discard: paint defects, inpaint them.

The workflow: Paint Cleanup Mask (a black mask the texture's size becomes the paint canvas,
shown in red over the texture) -> paint white over what should go -> Apply Cleanup (the
masked region, with context, goes to the cleanup provider; only the grown mask's texels are
written back; a packed texture is re-packed) -> save the texture (or just the .blend when it
is packed). One undo step returns the texture (and the mask) exactly; see
blender/cleanup_undo.py for how, since Blender's undo does not keep image pixels.

The Blender side lives in blender/cleanup_target.py (which texture, which mask),
cleanup_mask.py (the mask's life cycle), cleanup_preview.py (the red preview nodes) and
cleanup_session.py (paint mode, brush, tool settings, and putting them back); the region
maths in core/cleanup_region.py.
"""

from __future__ import annotations

import bpy
from bpy.app.translations import pgettext_rpt as rpt_
from bpy.props import BoolProperty, IntProperty

from .. import providers
from ..blender import (
    cleanup_mask,
    cleanup_session,
    cleanup_surface,
    cleanup_target,
    cleanup_undo,
    datablocks,
    pixels,
    sources,
)
from ..core import cleanup_region, cleanup_seams, cleanup_wrap
from ..core.errors import ProviderError, SourceError
from ..providers import cache
from .job_operator import JobOperator, image_prop, provider_prop


class MAPSMITH_OT_cleanup_paint_mask(bpy.types.Operator):
    """Paint over what to remove on the active texture: a cleanup mask, shown in red"""

    bl_idname = "mapsmith.cleanup_paint_mask"
    bl_label = "Paint Cleanup Mask"
    bl_options = {"REGISTER", "UNDO"}

    image: image_prop()

    @classmethod
    def poll(cls, context):
        space = getattr(context, "space_data", None)
        if space is not None and space.type == "IMAGE_EDITOR" and space.image is not None:
            return True
        if context.active_object is None:
            cls.poll_message_set("Select the object whose texture needs cleaning")
            return False
        return True

    def execute(self, context):
        cleanup_session.tidy(context)
        space = getattr(context, "space_data", None)
        flat = (space is not None and space.type == "IMAGE_EDITOR"
                and (space.image is not None or self.image))
        try:
            with datablocks.rollback_on_error():  # a refusal leaves no stray mask behind
                if flat:
                    texture = cleanup_target.find_texture(context, self.image)
                else:
                    obj = context.active_object
                    node = sources.active_texture_node(obj)
                    if node is None:
                        raise SourceError(
                            f'"{obj.name}" has no active Image Texture node: in its material, '
                            "click the Image Texture node holding the texture to clean")
                    if self.image and node.image.name != self.image:
                        raise SourceError(f'The active Image Texture node shows '
                                          f'"{node.image.name}", not "{self.image}"')
                    texture = node.image
                    if cleanup_target.is_mask(texture):
                        raise SourceError("The active Image Texture node holds a cleanup mask: "
                                          "make the texture's node active")
                    cleanup_target.check_texture(texture)
                    cleanup_session.check_object(obj)
                mask, created = cleanup_mask.ensure_mask(texture)
                if flat:
                    cleanup_session.start_image_editor(context, space, mask)
                else:
                    cleanup_session.start_3d(context, obj, node, mask)
        except SourceError as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        message = (rpt_('New cleanup mask "{mask}": paint white over what should go, then '
                        "Apply Cleanup") if created else
                   rpt_('Resumed cleanup mask "{mask}": paint white over what should go, then '
                        "Apply Cleanup"))
        self.report({"INFO"}, message.format(mask=mask.name))
        return {"FINISHED"}


class MAPSMITH_OT_cleanup_discard(bpy.types.Operator):
    """Stop painting the cleanup mask without cleaning: the texture stays as it is"""

    bl_idname = "mapsmith.cleanup_discard"
    bl_label = "Discard Cleanup Mask"
    bl_options = {"REGISTER", "UNDO"}

    image: image_prop()

    def execute(self, context):
        ended = cleanup_session.tidy(context)
        if ended:  # its mask was deleted: nothing to clear, the session is over
            self.report({"INFO"}, rpt_("The cleanup mask was deleted: the paint session has "
                                       "ended; the texture is unchanged"))
            return {"FINISHED"}
        try:
            texture = cleanup_target.find_texture(context, self.image)
        except SourceError as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        mask = cleanup_target.find_mask(texture)
        if mask is None:
            self.report({"INFO"}, rpt_('"{texture}" has no cleanup mask').format(
                texture=texture.name))
            return {"CANCELLED"}
        marked = cleanup_mask.read_mask(mask)
        if marked is not None:
            cleanup_mask.clear_mask(mask, marked)
        cleanup_mask.release(mask)
        cleanup_session.end(context, mask, texture)
        self.report({"INFO"}, rpt_("Cleanup mask discarded; the texture is unchanged"))
        return {"FINISHED"}


class MAPSMITH_OT_cleanup_apply(JobOperator, bpy.types.Operator):
    """Inpaint the texels painted in the cleanup mask; every other texel stays as it was"""

    bl_idname = "mapsmith.cleanup_apply"
    bl_label = "Apply Cleanup"
    capability = "cleanup"
    request_options = ("image", "provider", "grow", "exclude_person",   # keep_mask: after
                       "tileable")
    needs_source = False  # the texture and its mask are found here (only the region is sent)

    image: image_prop()
    provider: provider_prop("cleanup")
    grow: IntProperty(
        name="Grow Mask", default=4, min=0, soft_max=32, max=256, subtype="PIXEL",
        description="Widen the painted mask by this many texels first, so the defect's "
                    "halo goes too")
    keep_mask: BoolProperty(
        name="Keep Mask", default=False,
        description="Keep the painted mask after cleaning (else it is cleared)")
    exclude_person: BoolProperty(
        name="Keep Person Out", default=False,
        description="Offline provider: never copy texels from a person found in the region "
                    "(e.g. cleaning the wall behind a portrait)")
    tileable: BoolProperty(
        name="Tileable", default=False,
        description="The texture is seamless: a mark near an edge is filled with context "
                    "from the opposite edge too, and the fill wraps around")

    def _start(self, context) -> bool:
        # The texture, its mask and an empty-mask check come before the provider: an empty
        # mask says so, and nothing is ever sent.
        cleanup_session.tidy(context)
        try:
            self._plan_target(context)
        except SourceError as err:
            self.report({"ERROR"}, str(err))
            return False
        return super()._start(context)

    def _plan_target(self, context) -> None:
        texture = cleanup_target.find_texture(context, self.image)
        mask = cleanup_target.find_mask(texture)
        if mask is None:
            raise SourceError(f'"{texture.name}" has no cleanup mask: run Paint Cleanup Mask '
                              "and paint over what should go")
        if tuple(mask.size) != tuple(texture.size):
            raise SourceError(f'The cleanup mask is {mask.size[0]}x{mask.size[1]} but the '
                              f'texture is {texture.size[0]}x{texture.size[1]}: run Paint '
                              "Cleanup Mask again to resize it")
        marked = cleanup_mask.read_mask(mask)
        planned, self._shift = marked, (0, 0)
        if self.tileable and marked is not None:   # planned where no mark crosses an edge
            planned, self._shift = cleanup_wrap.find_marks_wrapped(pixels.read_stored(mask))
        plans = cleanup_region.plan_regions(planned, self.grow) if marked is not None else []
        if not plans:
            raise SourceError(f'The cleanup mask of "{texture.name}" is empty: paint white over '
                              "what should go first. Nothing was sent")
        buf = pixels.read_stored(texture)
        regions = [cleanup_wrap.gather(buf, p.box, self._shift) for p in plans]
        surface, why = cleanup_surface.surface_of(context, texture)
        if self._shift != (0, 0) and surface is not None:
            surface, why = None, "Tileable: filled around the texture's edges instead"
        # Names can change while the job runs; session_uid does not (nor does it on undo).
        self._target = (texture.session_uid, mask.session_uid, plans, regions,
                        pixels.is_linear(texture), bool(texture.is_float))
        self._surface = (surface, buf if surface is not None else None, why)
        self._marked = marked

    def prepare(self, context, source, provider):
        _tex, _mask, plans, regions, linear, is_float = self._target
        surface, buf, _why = self._surface
        options = providers.options(provider, "cleanup", exclude_person=self.exclude_person)

        def work(token):
            results, new_rgbs = [], []
            share = 0.9 if surface is not None else 1.0
            for k, (plan, region) in enumerate(zip(plans, regions)):
                part = token.part(share * k / len(plans), share * (k + 1) / len(plans),
                                  f"Region {k + 1} of {len(plans)}: " if len(plans) > 1 else "")
                result, new_rgb = _clean_region(provider, options, plan, region, linear,
                                                is_float, part)
                results.append(result)
                new_rgbs.append(new_rgb)
            seam_texels, seam_note = 0, ""
            if surface is not None:
                token.progress(share, "Filling across UV seams")
                # A re-run answered from the cache still fills in the background.
                new_rgbs, seam_texels, seam_note = cleanup_seams.fill_across_seams(
                    buf, plans, new_rgbs, surface, is_float=is_float, cancel=token,
                    before_fill=cache.leave_main_thread)
            return (new_rgbs, seam_texels, seam_note, *results)

        return work

    def finish(self, context, source, payload):
        new_rgbs, seam_texels, seam_note, *results = payload
        tex_uid, mask_uid, plans, _regions, _linear, _is_float = self._target
        texture = _by_uid(tex_uid)
        mask = _by_uid(mask_uid)
        if texture is None or mask is None:
            raise SourceError("The texture or its mask was removed while cleaning up")
        buf = pixels.read_stored(texture)  # now: keep any change made meanwhile
        if buf.shape[:2] != tuple(mask.size)[::-1]:
            raise SourceError("The texture changed size while cleaning up: nothing was written")
        changed = _write_regions(texture, buf, plans, new_rgbs, self._shift)
        del buf
        if texture.packed_file is not None:  # else File > Save keeps the old packed pixels
            pixels.pack(texture)
        if self.keep_mask:
            cleanup_mask.keep(mask)
        else:
            # the marks cleaned; strokes painted while the job ran stay (and undo keeps them)
            cleanup_mask.clear_mask(mask, self._marked)
            cleanup_mask.release(mask)
        cleanup_session.end(context, mask, texture)
        sizes = ", ".join(f"{x1 - x0}x{y1 - y0}" for x0, y0, x1, y1 in (p.box for p in plans))
        what = "a" if len(plans) == 1 else f"{len(plans)}"
        parts = [f"Cleaned {changed} texels of \"{texture.name}\" "
                 f"(sent {what} region{'s' if len(plans) > 1 else ''}: {sizes})"]
        parts += _seam_notes(seam_texels, seam_note, self._surface[2])
        notes = {r.note for r in results if r.note}
        parts += sorted(notes)
        credits = [str(r.credits) for r in results if r.credits]
        if credits:
            parts.append(credits[-1])
        parts.append(_how_to_keep(texture))
        return "; ".join(parts)


def _clean_region(provider, options, plan, region, linear, is_float, token):
    """One region through the provider: its answer and the region's new stored RGB."""
    # Providers take rows top first; Blender's buffers are bottom first.
    rgb = pixels.display_uint8(region, linear)[::-1, :, :3]
    result = provider.cleanup(rgb, plan.grown[::-1], cancel=token, **options)
    answer = result.image[::-1]
    if answer.shape[:2] != region.shape[:2]:
        raise ProviderError(f"the provider answered {answer.shape[1]}x{answer.shape[0]} "
                            f"for a {region.shape[1]}x{region.shape[0]} region")
    return result, cleanup_region.blend(region, answer[..., :3], plan.weight, linear=linear,
                                        is_float=is_float)


def _write_regions(texture, buf, plans, new_rgbs, shift=(0, 0)) -> int:
    """Write each region's grown-mask texels into ``buf`` and the texture, recorded as ONE
    undo step (every "before" taken before any write: regions may share context). Returns
    how many texels changed. Tileable (``shift``): the boxes are in shifted coordinates, the
    writes wrap around, and the undo records cover them in the texture's own."""
    covers = [cleanup_wrap.covering_box(p.box, shift, buf.shape[:2]) for p in plans]
    befores = [cleanup_undo.to_stored(texture, buf[y0:y1, x0:x1]) for x0, y0, x1, y1 in covers]
    changed = 0
    for plan, new_rgb in zip(plans, new_rgbs):
        inside = plan.weight > 0
        cleanup_wrap.scatter(buf[..., :3], plan.box, shift, new_rgb, inside)
        changed += int(inside.sum())
    pixels.write_stored(texture, buf)  # marks the texture dirty
    parts = [(box, before, cleanup_undo.to_stored(texture, buf[box[1]:box[3], box[0]:box[2]]))
             for box, before in zip(covers, befores)]
    (box, before, after), *more = parts
    cleanup_undo.record(texture, box, before, after, more=tuple(more))
    return changed


def _seam_notes(seam_texels: int, seam_note: str, why_not: str) -> list:
    notes = []
    if seam_texels:
        notes.append(f"{seam_texels} texels at UV seams filled from the model's surface")
    if seam_note:
        notes.append(seam_note)
    if why_not:
        notes.append(f"UV seams not considered ({why_not}): filled in image space")
    return notes


def _by_uid(uid: int):
    return next((image for image in bpy.data.images if image.session_uid == uid), None)


def _how_to_keep(texture) -> str:
    if texture.packed_file is not None:
        return "packed into the .blend: saving the file keeps it"
    if texture.source == "FILE":
        return "save the image to keep it"
    return "save or pack the image to keep it"
