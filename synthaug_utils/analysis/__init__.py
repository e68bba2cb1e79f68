"""Stage 6 - numbers out of stored results and images: statistics, figure tables, glue values, embeddings, quality,
chapter reports.

The package docstring (:mod:`synthaug_utils`) lists every module with its concern.
"""
