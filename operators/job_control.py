"""mapsmith.cancel_job (the panel's Cancel button) and mapsmith.clear_cache (preferences)."""

import bpy
from bpy.app.translations import pgettext_rpt as rpt_
from bpy.props import StringProperty

from ..blender import job_session
from ..providers import cache
from .job_operator import cache_folder


class MAPSMITH_OT_cancel_job(bpy.types.Operator):
    """Stop the running Mapsmith job: nothing is made, the file stays as it was"""

    bl_idname = "mapsmith.cancel_job"
    bl_label = "Cancel"
    bl_options = {"INTERNAL"}

    job: StringProperty(
        name="Job", default="", options={"SKIP_SAVE"},
        description="The operator whose job to stop (e.g. mapsmith.depth_relief); "
                    "empty: every running job")

    @classmethod
    def poll(cls, context):
        if not job_session.running():
            cls.poll_message_set("No Mapsmith job is running")
            return False
        return True

    def execute(self, context):
        sessions = job_session.running(self.job)
        if not sessions:
            self.report({"INFO"}, rpt_("That job has ended already"))
            return {"CANCELLED"}
        for session in sessions:
            session.cancel()
        self.report({"INFO"}, rpt_("Cancelling {jobs}").format(
            jobs=", ".join(s.label for s in sessions)))
        return {"FINISHED"}


class MAPSMITH_OT_clear_cache(bpy.types.Operator):
    """Forget every remembered provider answer, in memory and on disk: the next run asks again"""

    bl_idname = "mapsmith.clear_cache"
    bl_label = "Clear Cache"
    bl_options = {"REGISTER"}

    def execute(self, context):
        count, size = cache.ANSWERS.clear(cache_folder())
        self.report({"INFO"}, rpt_("Cached answers cleared: {count} ({size:.1f} MB)").format(
            count=count, size=size / 2**20))
        return {"FINISHED"}


classes = (MAPSMITH_OT_cancel_job, MAPSMITH_OT_clear_cache)
