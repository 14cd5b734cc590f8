"""What every Mapsmith operator shares: the source image, the provider, the job runner.

A capability operator subclasses :class:`JobOperator` and implements two methods:

- ``prepare(context, source, provider)`` runs on the main thread, reads what it needs from
  Blender (never keeps data-blocks for the worker) and returns ``work(token) -> payload``;
- ``finish(context, source, payload)`` runs on the main thread after the work is done and
  builds the Blender data. If it raises, every data-block it created is removed again.

Invoked from the UI the operator is modal: a timer polls the job, the status bar shows the
progress, Esc cancels. Executed from a script (and always when Blender runs in the
background) it polls the job in a loop and returns when done, so a failure raises
RuntimeError from ``bpy.ops`` with the message.
"""

from __future__ import annotations

from typing import Any, Callable

import bpy
from bpy.props import EnumProperty, StringProperty

from .. import preferences, providers
from ..blender import datablocks, jobs, sources
from ..blender.sources import Source
from ..core.errors import CancelToken, MapsmithError, ProviderError
from ..providers import Provider, Result

Work = Callable[[CancelToken], Any]


def provider_prop(capability: str):
    items = [("DEFAULT", "Default", "The provider chosen in the add-on preferences")]
    items += [(pid, providers.label(pid), "") for pid in providers.offering(capability)]
    return EnumProperty(name="Provider", items=items, default="DEFAULT", options={"SKIP_SAVE"})


def image_prop():
    return StringProperty(
        name="Image", default="", options={"SKIP_SAVE"},
        description="Name of the source image; empty: the Image Editor's image, else the "
                    "active Image Texture node, else the last render")


def make_provider(context, capability: str, choice: str = "DEFAULT") -> Provider:
    """The provider for ``capability``; refuses remote ones while online access is off."""
    prefs = preferences.get(context)
    provider_id = getattr(prefs, f"{capability}_provider") if choice == "DEFAULT" else choice
    if capability not in providers.RECORDS[provider_id].capabilities:
        raise ProviderError(f"{providers.label(provider_id)} does not offer {capability}")
    if providers.is_remote(provider_id) and not bpy.app.online_access:
        raise ProviderError(
            f"{providers.label(provider_id)} needs online access, which is off "
            "(Preferences > System > Network > Allow Online Access). "
            "Or choose the Offline provider")
    return providers.create(provider_id, preferences.provider_settings(prefs, provider_id))


def credits_note(payload) -> str:
    """"ClipDrop: 97 credits left, 1 used" for the Results in a job's payload that carry
    credits; remembered per service for Test connection."""
    items = payload.values() if isinstance(payload, dict) else (
        payload if isinstance(payload, (tuple, list)) else (payload,))
    notes = {}
    for result in items:
        credits = result.credits if isinstance(result, Result) else None
        if credits and credits.provider:
            preferences.last_credits[credits.provider] = str(credits)
            notes[credits.provider] = f"{providers.label(credits.provider)}: {credits}"
    return "; ".join(notes.values())


class DrawsOptions:
    """Adjust Last Operation draws the same options as the sidebar sub-panel (the class's
    ``draw_options(layout, props)``), then the provider choice."""

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        self.draw_options(layout, self)
        self.draw_provider(layout)

    def draw_provider(self, layout):
        layout.prop(self, "provider")


class JobOperator:
    bl_options = {"REGISTER", "UNDO"}
    capability = ""           # "depth", "normals", "background" or "cleanup"
    needs_provider = True
    needs_source = True
    _busy: set = set()        # operator ids with a job running (one at a time each)

    @classmethod
    def poll(cls, context):
        if cls.bl_idname in JobOperator._busy:
            cls.poll_message_set("Already running: wait for it or press Esc")
            return False
        problem = sources.source_problem(context) if cls.needs_source else ""
        if problem:
            cls.poll_message_set(problem)
            return False
        return True

    # -- to implement ------------------------------------------------------------------
    def prepare(self, context, source: Source, provider: Provider) -> Work:
        raise NotImplementedError

    def finish(self, context, source: Source, payload: Any) -> None:
        raise NotImplementedError

    # -- shared machinery --------------------------------------------------------------
    def _start(self, context) -> bool:
        try:
            self._source = sources.resolve(context, self.image) if self.needs_source else None
            provider = (make_provider(context, self.capability, self.provider)
                        if self.needs_provider else None)
            work = self.prepare(context, self._source, provider)
        except MapsmithError as err:
            self.report({"ERROR"}, str(err))
            return False
        self._job = jobs.Job(work, label=self.bl_label).start()
        JobOperator._busy.add(self.bl_idname)
        return True

    def execute(self, context):
        if not self._start(context):
            return {"CANCELLED"}
        return self._end(context, self._job.wait())

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        if not self._start(context):
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, 100)
        self._show_status(context)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC" and event.value == "PRESS":
            self._job.cancel()
            return self._end(context, jobs.CANCELLED)
        if event.type != "TIMER":      # any timer tick will do: polling is cheap
            return {"PASS_THROUGH"}
        state = self._job.poll()
        if state == jobs.RUNNING:
            context.window_manager.progress_update(int(self._job.progress * 100))
            self._show_status(context)
            return {"RUNNING_MODAL"}
        return self._end(context, state)

    def _show_status(self, context):
        text = self._job.text or "working"
        context.workspace.status_text_set(
            f"Mapsmith {self.bl_label}: {text} {int(self._job.progress * 100)}%  (Esc to cancel)")

    def _end(self, context, state: str):
        JobOperator._busy.discard(self.bl_idname)
        timer = getattr(self, "_timer", None)
        if timer is not None:
            wm = context.window_manager
            wm.event_timer_remove(timer)
            wm.progress_end()
            context.workspace.status_text_set(None)
            self._timer = None
        if state == jobs.CANCELLED:
            self.report({"WARNING"}, f"{self.bl_label} cancelled: nothing was changed")
            return {"CANCELLED"}
        if state == jobs.FAILED:
            self.report({"ERROR"}, self._job.error)
            return {"CANCELLED"}
        try:
            with datablocks.rollback_on_error():
                message = self.finish(context, self._source, self._job.result)
        except MapsmithError as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        credits = credits_note(self._job.result)
        if credits:
            message = f"{message} ({credits})" if message else credits
        if message:
            self.report({"INFO"}, message)
        return {"FINISHED"}
