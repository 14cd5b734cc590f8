"""What every Mapsmith operator shares: the source image, the provider, the job runner.

A capability operator subclasses :class:`JobOperator` and implements two methods:

- ``prepare(context, source, provider)`` runs on the main thread, reads what it needs from
  Blender (never keeps data-blocks for the worker) and returns ``work(token) -> payload``;
- ``finish(context, source, payload)`` runs on the main thread after the work is done and
  builds the Blender data. If it raises, every data-block it created is removed again.

Every provider answer goes through the answer cache (``providers/cache.py``): a run whose
answers are all cached (a re-run that only changes how the answer is built, e.g. Adjust Last
Operation with another Strength) runs at once on the main thread and sends nothing. Each
operator declares which of its options change the request (``request_options``); the others
only change how the answer becomes Blender data.

Otherwise, invoked from the UI the operator is modal: a :class:`JobSession` polls the job on
its own timer, the Mapsmith panel shows the progress with a Cancel button, and Esc over the
area the job was started from cancels. Executed from a script (and always when Blender runs
in the background) it polls the job in a loop and returns when done, so a failure raises
RuntimeError from ``bpy.ops`` with the message.

At finish the source image (and, for ``uses_active_object`` operators, the object that was
active at the start) is looked up again by its ``session_uid``: one removed meanwhile is a
message, and nothing is made. A result arriving while the active object is in Edit, Sculpt or
Paint mode does not change the active object (no mixed-mode scene).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable
from typing import Any

import bpy
from bpy.app.translations import pgettext_rpt as rpt_
from bpy.props import EnumProperty, StringProperty

from .. import preferences, providers
from ..blender import datablocks, job_session, jobs, sources
from ..blender.sources import Source
from ..core.errors import CancelToken, MapsmithError, ProviderError, SourceError
from ..providers import Provider, Result, cache

Work = Callable[[CancelToken], Any]


def provider_prop(capability: str):
    items = [("DEFAULT", "Default", "The provider chosen in the add-on preferences")]
    items += [(pid, providers.label(pid),
               f"Send the image to {providers.label(pid)} (needs its API key and online access)"
               if providers.is_remote(pid) else "Run on this computer: no account, no network")
              for pid in providers.offering(capability)]
    return EnumProperty(name="Provider", items=items, default="DEFAULT", options={"SKIP_SAVE"},
                        description="Who computes the answer for this run")


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
        raise ProviderError(rpt_("{provider} does not offer {capability}").format(
            provider=providers.label(provider_id), capability=capability))
    if providers.is_remote(provider_id) and not bpy.app.online_access:
        raise ProviderError(rpt_(
            "{provider} needs online access, which is off (Preferences > System > Network > "
            "Allow Online Access). Or choose the Offline provider").format(
                provider=providers.label(provider_id)))
    cache.ANSWERS.directory = cache_folder() if prefs.use_disk_cache else None
    return cache.CachedProvider(
        providers.create(provider_id, preferences.provider_settings(prefs, provider_id)))


def cache_folder() -> str:
    """Where answers are kept on disk (when the preference says so): the extension's user
    folder, never the add-on's own."""
    root = bpy.utils.extension_path_user(__package__.rpartition(".")[0], create=True)
    return os.path.join(root, "answers")


def _results(payload):
    items = payload.values() if isinstance(payload, dict) else (
        payload if isinstance(payload, (tuple, list)) else (payload,))
    return [item for item in items if isinstance(item, Result)]


def from_cache(payload) -> bool:
    """Whether every provider answer in a job's payload came from the answer cache."""
    results = _results(payload)
    return bool(results) and all(isinstance(r, cache.CachedResult) for r in results)


def credits_note(payload) -> str:
    """"ClipDrop: 97 credits left, 1 used" for the Results in a job's payload that carry
    credits; remembered per service for Test connection."""
    notes = {}
    for result in _results(payload):
        credits = result.credits
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


def _redraw_panels(wm) -> Callable[[], None]:
    """Tags the sidebars that draw the running jobs (every window) for redraw."""
    def redraw():
        for window in wm.windows:
            for area in window.screen.areas:
                if area.type in {"VIEW_3D", "IMAGE_EDITOR", "NODE_EDITOR"}:
                    for region in area.regions:
                        if region.type == "UI":
                            region.tag_redraw()
    return redraw


def _lookup(collection, ref):
    """The data-block ``ref`` = (name, session_uid) names, if it still exists."""
    name, uid = ref
    found = collection.get(name)
    if found is not None and found.session_uid == uid:
        return found
    return next((idb for idb in collection if idb.session_uid == uid), None)


def _ref(idb):
    return None if idb is None else (idb.name, idb.session_uid)


class JobOperator:
    bl_options = {"REGISTER", "UNDO"}
    capability = ""           # "depth", "normals", "background" or "cleanup"
    needs_provider = True
    needs_source = True
    # Options that change what is asked of the provider (a new request when changed); every
    # other option only changes how the answer is built (the cached answer is used).
    request_options: tuple = ("image", "provider")
    # finish() works on context.active_object: it is the object active when the run started.
    uses_active_object = False

    @classmethod
    def poll(cls, context):
        if job_session.busy(cls.bl_idname):
            cls.poll_message_set("Already running: wait for it, or Cancel it in the Mapsmith "
                                 "panel")
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
        """Resolve, prepare and run from the cache, or start the job: False on a failure
        (reported). Afterwards ``self._job`` has ended already if every answer was cached."""
        try:
            self._source = sources.resolve(context, self.image) if self.needs_source else None
            self._source_ref = _ref(getattr(self._source, "image", None))
            self._target_ref = _ref(context.active_object)
            provider = (make_provider(context, self.capability, self.provider)
                        if self.needs_provider else None)
            work = self.prepare(context, self._source, provider)
        except MapsmithError as err:
            self.report({"ERROR"}, str(err))
            return False
        self._job = jobs.Job(work, label=self.bl_label)
        self._session = job_session.JobSession(self._job, type(self).bl_idname, self.bl_label)
        self._job.run_cached()
        return True

    def execute(self, context):
        if not self._start(context):
            return {"CANCELLED"}
        if self._job.poll() == jobs.RUNNING:           # not answered from the cache
            self._session.start()
        return self._end(context, self._job.wait())

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        if not self._start(context):
            return {"CANCELLED"}
        if self._job.poll() != jobs.RUNNING:          # answered from the cache
            return self._end(context, self._job.poll())
        wm = context.window_manager
        self._session.start(wm, context.window, context.area, redraw=_redraw_panels(wm))
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if self._session.handle(event) == job_session.END:
            return self._end(context, self._session.state)
        return {"PASS_THROUGH"}

    def cancel(self, context):
        """Blender removes the modal handler (window closed, file read, quit)."""
        session = getattr(self, "_session", None)
        if session is not None:
            session.teardown()
        self._release()

    def _release(self) -> None:
        """Drop what the run held (source pixels, answers, the job): Blender keeps finished
        operators around for Adjust Last Operation; the answers stay in the answer cache."""
        for name in [n for n in vars(self) if n.startswith("_")]:
            delattr(self, name)

    def _end(self, context, state: str):
        payload, error = self._job.result, self._job.error
        self._session.teardown()
        try:
            return self._report_end(context, state, payload, error)
        finally:
            self._release()

    def _report_end(self, context, state, payload, error):
        if state == jobs.CANCELLED:
            self.report({"WARNING"}, rpt_("{operator} cancelled: nothing was changed").format(
                operator=self.bl_label))
            return {"CANCELLED"}
        if state == jobs.FAILED:
            self.report({"ERROR"}, error)
            return {"CANCELLED"}
        try:
            source = self._current_source()
            with self._target_override(context), self._keep_active(context) as kept, \
                    datablocks.rollback_on_error():
                message = self.finish(context, source, payload)
        except MapsmithError as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        notes = [note for note in (credits_note(payload),
                                   rpt_("cached answer") if from_cache(payload) else "",
                                   kept.get("note", "")) if note]
        if notes:
            message = f"{message} ({'; '.join(notes)})" if message else "; ".join(notes)
        message = "; ".join(part for part in (message, self.report_suffix()) if part)
        if message:
            self.report({"INFO"}, message)
        return {"FINISHED"}

    def report_suffix(self) -> str:
        """Said last in the report of a finished run (e.g. which maps were made and why)."""
        return ""

    # -- what finish() works on, looked up again now ----------------------------------
    def _current_source(self):
        """The source with its image looked up again (deleted or undone meanwhile: a
        message, and nothing is made)."""
        source, ref = self._source, self._source_ref
        if source is None or ref is None:
            return source
        image = _lookup(bpy.data.images, ref)
        if image is None:
            raise SourceError(rpt_('The image "{image}" was removed while {operator} ran: '
                                   "nothing was made. Run it again").format(
                                       image=ref[0], operator=self.bl_label))
        return dataclasses.replace(source, image=image)

    @contextlib.contextmanager
    def _target_override(self, context):
        """For ``uses_active_object``: context.active_object is the object that was active
        when the run started (the user may have selected another meanwhile)."""
        if not self.uses_active_object:
            yield
            return
        target = None
        if self._target_ref is not None:
            target = _lookup(bpy.data.objects, self._target_ref)
            if target is None or context.scene.objects.get(target.name) is None:
                raise SourceError(rpt_('The object "{object}" was removed while {operator} '
                                       "ran: nothing was made. Run it again").format(
                                           object=self._target_ref[0], operator=self.bl_label))
        with context.temp_override(active_object=target, object=target):
            yield

    @contextlib.contextmanager
    def _keep_active(self, context):
        """A result arriving while the active object is in Edit, Sculpt or Paint mode: a new
        object is linked, but the active object and the selection stay as they were (no
        mixed-mode scene, and a paint session still finds its object)."""
        kept = {}
        view_layer = context.view_layer
        active = view_layer.objects.active
        if active is None or active.mode == "OBJECT":
            yield kept
            return
        mode = active.mode.replace("_", " ").title()
        before = {o.as_pointer() for o in bpy.data.objects}
        selected = {o.as_pointer() for o in view_layer.objects.selected}
        try:
            yield kept
        finally:
            now = view_layer.objects.active
            if now is None or now.as_pointer() not in before:
                for obj in view_layer.objects:
                    obj.select_set(obj.as_pointer() in selected)
                view_layer.objects.active = active
                if now is not None:
                    kept["note"] = rpt_('not made active: "{object}" is in {mode} Mode').format(
                        object=active.name, mode=mode)


def register():
    bpy.app.handlers.load_pre.append(_teardown_on_load)


def unregister():
    """Before the classes go: Blender removes their modal handlers without calling cancel()."""
    job_session.teardown_all()
    if _teardown_on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_teardown_on_load)


@bpy.app.handlers.persistent
def _teardown_on_load(*_args):
    """Opening or reverting a file: no job outlives the file it was started in."""
    job_session.teardown_all()
