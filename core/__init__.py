"""bpy-free maths: colour, encoding and limits, masks, depth -> grids, normals, inpainting.

Plain Python + numpy + Pillow; tested with plain pytest (tests/unit) in milliseconds.
"""
