"""Stage 3 - synthetic image sets: manifests, planning, generation into sets, the released set.

The package docstring (:mod:`synthaug_utils`) lists every module with its concern.
"""
