"""Stage 1 - datasets, splits, images, the leakage guard and the embedded demo world.

- :mod:`synthaug_utils.data.datasets`
- :mod:`synthaug_utils.data.world`
"""
