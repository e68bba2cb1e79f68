"""Stage 4 - classifier training: the fastai recipe (faithful) and the cached-feature fast mode.

- :mod:`synthaug_utils.classifier.training`
"""
