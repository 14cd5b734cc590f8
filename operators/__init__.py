"""Operators: one module per capability; ``classes`` is what ``register()`` registers."""

from . import (
               background,
               batch,
               cleanup,
               connection,
               export_print,
               job_control,
               keys,
               lithophane,
               material,
               models,
               normals,
               open_image,
               relief,
)

classes = (
    relief.MAPSMITH_OT_depth_relief,
    normals.MAPSMITH_OT_normal_map,
    background.MAPSMITH_OT_remove_background,
    cleanup.MAPSMITH_OT_cleanup_paint_mask,
    cleanup.MAPSMITH_OT_cleanup_apply,
    cleanup.MAPSMITH_OT_cleanup_discard,
    material.MAPSMITH_OT_material_setup,
    connection.MAPSMITH_OT_test_connection,
    keys.MAPSMITH_OT_forget_keys,
    open_image.MAPSMITH_OT_relief_from_file,
    *job_control.classes,
    export_print.MAPSMITH_OT_export_print,
    lithophane.MAPSMITH_OT_lithophane,
    models.MAPSMITH_OT_download_model,
    models.MAPSMITH_OT_remove_model,
    batch.MAPSMITH_OT_batch_maps,
    batch.MAPSMITH_OT_batch_choose_files,
)
