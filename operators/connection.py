"""mapsmith.test_connection: check a service's key and show its remaining credits."""

import bpy
from bpy.app.translations import pgettext_rpt as rpt_
from bpy.props import EnumProperty

from .. import preferences, providers
from .job_operator import JobOperator

# One item per remote provider's record: the identifier is its service ("clipdrop", ...).
SERVICES = tuple((record.service, record.label,
                  f"Check the {record.label} key and show the credits it reports")
                 for record in providers.REMOTE)
_PROVIDER_OF = {record.service: record.id for record in providers.REMOTE}


class MAPSMITH_OT_test_connection(JobOperator, bpy.types.Operator):
    """Check the API key and the service's reply; shows the remaining credits where reported"""

    bl_idname = "mapsmith.test_connection"
    bl_label = "Test Connection"
    bl_options = {"REGISTER"}
    needs_source = False
    needs_provider = False

    service: EnumProperty(name="Service", items=SERVICES,
                          description="The service whose key and address are checked")

    def prepare(self, context, source, provider):
        if not bpy.app.online_access:
            raise providers.ProviderError(rpt_(
                "Online access is off (Preferences > System > Network > Allow Online Access)"))
        provider_id = _PROVIDER_OF[self.service]
        prefs = preferences.get(context)
        client = providers.create(provider_id, preferences.provider_settings(prefs, provider_id))
        return lambda token: client.test_connection(cancel=token)

    def finish(self, context, source, status):
        known = preferences.last_credits.get(_PROVIDER_OF[self.service])
        if known and "credits left" not in status:
            status = rpt_("{status}; after the last run: {credits}").format(
                status=status, credits=known)
        preferences.last_status[self.service] = status
        return status
