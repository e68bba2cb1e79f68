"""Stage 4 - classifier training: the recipe, the faithful (fastai) and the fast (cached-feature) modes.

Classifier training: the authors' fastai recipe (faithful mode) and a cached-feature fast mode.

Faithful mode (:func:`fit_faithful`) runs the recipe of the authors' scripts
(manrai/synthetic-derm, ``skin_classification_with_augmentation.py``): fastai
``vision_learner`` over an ImageNet-pretrained backbone, ``fit`` (not ``fine_tune``) so
the body stays frozen while the new head and every BatchNorm layer train, Adam
(fastai's, decoupled weight decay) with lr 1e-3 and weight decay 0.01, up to
``max_epochs`` epochs with ``EarlyStoppingCallback(monitor='valid_loss', patience=3)``,
item transform ``Resize(image_size)`` and batch transforms none or ``aug_transforms()``.
The Fig. 3 script keeps the last epoch's weights; the dose-response script restores the
best epoch (``SaveModelCallback``); :attr:`Recipe.restore_best` chooses.

Fast mode (:func:`fit_fast`) runs the frozen body once per image (and per augmented view
when transforms are on), caches its pooled features on disk (:class:`FeatureCache`) and
trains the same head (same layers, init, optimiser, lr, weight decay, batch size,
epochs and early-stopping rule) on them. It differs from faithful mode in two ways
that the book measures: the body's BatchNorm layers keep their ImageNet statistics and
affine parameters, and augmentation draws from ``views`` cached views per image
instead of a fresh draw every epoch. On the demo world the first difference dominates:
faithful mode with the body's BatchNorm frozen (fastai ``BnFreeze``, ``train_bn=False``)
lands within about 0.01-0.02 top-1 of fast mode, while the authors' ``train_bn=True``
recipe scores about 0.1 lower (measured; the book reports the comparison).

Everything is seeded (Python, NumPy, torch, data-loader order, augmentation): the same
inputs give identical predictions twice on the CPU at a given torch thread count (fast
mode trains its head on one thread, so its results do not depend on the thread count).
"""
