"""mapsmith.download_model / mapsmith.remove_model: the model manager's buttons.

The download runs off the main thread through the job runner (progress in the status bar, Esc
cancels; a cancelled or broken download keeps only its ``.part`` file, so the next try
resumes), only with Blender's online access on, into the extension's user folder
(``models/``). The bpy-free work is ``providers.offline.downloads``.
"""

import pathlib

import bpy
from bpy.app.translations import pgettext_rpt as rpt_
from bpy.props import EnumProperty

from .. import preferences
from ..blender import job_session
from ..core.errors import ProviderError
from ..providers.offline import downloads, learned
from .job_operator import JobOperator

MODELS = tuple((info.id, info.label, f"{info.improves} ({info.licence}, {info.size_mb:.0f} MB)")
               for info in learned.CATALOGUE)


def model_prop():
    return EnumProperty(name="Model", items=MODELS, description="Which learned model")


class MAPSMITH_OT_download_model(JobOperator, bpy.types.Operator):
    """Download a learned model (verified against its SHA-256) so the offline provider uses it"""

    bl_idname = "mapsmith.download_model"
    bl_label = "Download Model"
    bl_options = {"REGISTER"}
    needs_source = False
    needs_provider = False

    model: model_prop()

    def prepare(self, context, source, provider):
        info = learned.lookup(self.model)
        if not bpy.app.online_access:
            raise ProviderError(
                f"Downloading {info.label} needs online access, which is off (Preferences > "
                "System > Network > Allow Online Access)")
        prefs = preferences.get(context)
        base_url, timeout = prefs.models_url, prefs.timeout_s
        downloads.url_for(info, base_url)          # a bad Models URL fails here, not later
        folder = pathlib.Path(preferences.models_folder(create=True))

        def work(token):
            path = downloads.download(info, folder, base_url=base_url, timeout_s=timeout,
                                      token=token)
            learned.forget(folder)
            return path

        return work

    def finish(self, context, source, path):
        info = learned.lookup(self.model)
        return (f"{info.label} downloaded and verified ({info.licence}); the offline provider "
                f"now uses it. File: {path}")


class MAPSMITH_OT_remove_model(bpy.types.Operator):
    """Delete a downloaded model (and any partial download); the built-in method is used again"""

    bl_idname = "mapsmith.remove_model"
    bl_label = "Remove Model"
    bl_options = {"REGISTER"}

    model: model_prop()

    @classmethod
    def poll(cls, context):
        if job_session.busy(MAPSMITH_OT_download_model.bl_idname):
            cls.poll_message_set("A model is downloading: wait for it or press Esc")
            return False
        return True

    def execute(self, context):
        info = learned.lookup(self.model)
        folder = pathlib.Path(preferences.models_folder())
        try:
            found = downloads.remove(info, folder)
        except OSError as err:
            self.report({"ERROR"}, rpt_("Could not delete {model} from {folder} ({error}); "
                                        "close anything using it and try again").format(
                                            model=info.label, folder=folder, error=err))
            return {"CANCELLED"}
        learned.forget(folder)
        if not found:
            self.report({"INFO"}, rpt_("{model} was not installed").format(model=info.label))
        else:
            self.report({"INFO"}, rpt_("{model} removed; the built-in method is used again")
                        .format(model=info.label))
        return {"FINISHED"}
