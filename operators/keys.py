"""mapsmith.forget_keys: delete the remembered API keys file and the keys in memory."""

import bpy
from bpy.app.translations import pgettext_rpt as rpt_

from .. import preferences
from ..blender import keystore


class MAPSMITH_OT_forget_keys(bpy.types.Operator):
    """Delete the remembered API keys file and clear the keys typed this session"""

    bl_idname = "mapsmith.forget_keys"
    bl_label = "Forget Keys"
    bl_options = {"INTERNAL"}

    @classmethod
    def poll(cls, context):
        if not keystore.remembered():
            cls.poll_message_set("No keys are remembered on this computer")
            return False
        return True

    def execute(self, context):
        keystore.forget()
        preferences.drop_keys()
        self.report({"INFO"}, rpt_("Keys forgotten: the file is deleted"))
        return {"FINISHED"}
