"""synthaug: a reproducible implementation of Sagers et al. (2023),
"Augmenting medical image classifiers with synthetic data from latent diffusion models".

One module per concern:

- :mod:`synthaug_utils.core.config` - profiles (demo, smoke, paper), data/model locations, cache folder
- :mod:`synthaug_utils.data.world` - the embedded synthetic stand-in datasets (demo-derm9, demo-ddi)
- :mod:`synthaug_utils.data.datasets` - Fitzpatrick17k / DDI / bring-your-own loaders, splits, nested subsets, leakage guard
- :mod:`synthaug_utils.diffusion.generation` - Stable Diffusion / demo latent diffusion generation, manifests
- :mod:`synthaug_utils.classifier.training` - the fastai classifier recipe and fast mode
- :mod:`synthaug_utils.experiments.trials` - trial specs, the results store, grid runner
- :mod:`synthaug_utils.analysis.stats` - Wald intervals, proportion tests, BH, bootstrap
- :mod:`synthaug_utils.analysis.embeddings` - image embeddings and synthetic-set quality metrics
- :mod:`synthaug_utils.presentation.plots` - one plotting function per figure
- :mod:`synthaug_utils.presentation.book` - papermill execution and the Jupyter Book build
"""
__version__ = "0.1.0"
