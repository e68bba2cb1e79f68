"""Stage 7 - figures and the Jupyter Book.

The package docstring (:mod:`synthaug_utils`) lists every module with its concern.
"""
