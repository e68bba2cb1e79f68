"""Stage 8 - the miniature paper-format world and ``synthaug rehearse``.

- :mod:`synthaug_utils.rehearsal.run`
- :mod:`synthaug_utils.rehearsal.world`
"""
