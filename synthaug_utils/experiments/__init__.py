"""Stage 5 - trial specs, grids, the results store, executors and the chapter runners.

- :mod:`synthaug_utils.experiments.trials`
"""
