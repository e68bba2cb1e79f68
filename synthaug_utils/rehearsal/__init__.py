"""Stage 8 - the miniature paper-format world and ``synthaug rehearse``.

The package docstring (:mod:`synthaug_utils`) lists every module with its concern.
"""
