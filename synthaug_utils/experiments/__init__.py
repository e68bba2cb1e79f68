"""Stage 5 - trials and grids: specs, one trial, the results store, executors, the chapter runners.

Trials, the resumable results store and the grid runner (in-process or on Dask).

A *trial* is one classifier training run, fully described by a :class:`TrialSpec`
(dataset, split seed, real images per label, synthetic source and ratio, transforms,
architecture, training seed, mode and every hyperparameter). :func:`run_trial` is a
pure function of the spec (and the profile that says where data and models live): it
builds the training table (a nested real subset, synthetic images read through a
generation manifest, optional duplicates), trains with :mod:`synthaug_utils.classifier`
and returns a JSON-able result with per-image predictions, metrics and provenance.

A :class:`ResultsStore` keeps one JSON file per trial, named by the hash of its spec
and written atomically (temporary file in the same folder, then ``os.replace``), plus a
tidy index (``index.parquet``) rebuilt from the trial files. :func:`run_grid` skips
trials already stored, so a run killed at any moment (even with SIGKILL) and restarted
ends with exactly one valid result per trial and no partial files.

Named grids (``fig3``, ``fig4``, ``fig5``, ``imbalance``, ``learning-curve``) are built from the profile by
:func:`build_grid`; the profile's ``grids`` entries override any setting.

Work that makes artefacts (synthetic images, DreamBooth models, the pretrained demo generator) happens in
one step before any trial: :func:`~synthaug_utils.experiments.grids.prepare_synthetic_sets`, which
:func:`run_grid` and the chapter calls (:mod:`synthaug_utils.experiments.chapters`) run first. A trial's
training table only reads what it made and names that step when something is missing.
"""
