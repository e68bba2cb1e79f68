"""Stage 0 - settings and plumbing every stage uses: profiles, paths, errors, atomic files, ImageNet backbones.

- :mod:`synthaug_utils.core.backbones`
- :mod:`synthaug_utils.core.config`
- :mod:`synthaug_utils.core.errors`
- :mod:`synthaug_utils.core.files`
"""
