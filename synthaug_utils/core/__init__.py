"""Stage 0 - what every stage uses: profiles, paths, vocabularies, errors, atomic files, ImageNet backbones.

The package docstring (:mod:`synthaug_utils`) lists every module with its concern.
"""
