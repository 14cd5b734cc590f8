"""bpy glue shared by the operators: pixels, sources, node trees, the job runner."""
