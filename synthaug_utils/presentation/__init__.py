"""Stage 7 - figures and the Jupyter Book.

- :mod:`synthaug_utils.presentation.book`
- :mod:`synthaug_utils.presentation.plots`
"""
