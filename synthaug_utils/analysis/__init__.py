"""Stage 6 - statistics, figure tables, embeddings and synthetic-set quality, the paper's values.

- :mod:`synthaug_utils.analysis.embeddings`
- :mod:`synthaug_utils.analysis.paper`
- :mod:`synthaug_utils.analysis.paper_cost`
- :mod:`synthaug_utils.analysis.quality`
- :mod:`synthaug_utils.analysis.stats`
- :mod:`synthaug_utils.analysis.tables`
"""
