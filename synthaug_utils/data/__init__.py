"""Stage 1 - datasets, splits, images and their checks, the leakage guard, the embedded demo world.

Datasets, splits and the leakage guard.

Three real-format readers produce a :class:`DatasetTables` (training pool + test set):

- :func:`read_f17k` - Fitzpatrick17k: ``fitzpatrick17k.csv`` plus the authors' clean split
  files and an image folder of ``{md5hash}.jpg`` (the demo world uses ``.png``);
- :func:`read_ddi` - Stanford DDI: ``ddi_metadata.csv`` plus an image folder;
- :func:`read_byo` - bring your own: a CSV with ``path``, ``label`` (optional ``fst``,
  ``split``, ``group``) or one folder per class; the paper profile's main dataset when the location
  ``main_data`` is set (labels too small for their draws are an error, or dropped with
  ``min_images_per_label``); :func:`read_byo_binary` - a two-label table with ``fst`` for the
  DDI slot (``ddi_data``). :func:`dataset_capabilities` says which optional columns a dataset has.
  Their draws take whole groups (the ``group`` column, else near-duplicate clusters:
  :mod:`synthaug_utils.data.groups`), and their dataset name hashes their content, not their place.

:func:`make_splits` turns it into a :class:`SplitTables` (train pool, validation, test)
for one split seed, and :func:`training_subset` draws nested training subsets.
Every table has the columns ``image_id, path, label, fst, split``. Metadata-only
operations never touch image files.

Images: :func:`open_rgb` is the one function that opens an image file for every consumer
(training, generation sources, DreamBooth, embeddings, quality): greyscale, 16-bit, CMYK,
palette and alpha images are converted to RGB, transparent pixels are composited on white
(:data:`ALPHA_BACKGROUND`) and EXIF orientation is applied. :func:`validate_images` fully
decodes every image of a run once (cached by path, size and modification time) and raises one
:class:`~synthaug_utils.core.errors.MissingImagesError` listing every missing, empty, truncated or
undecodable file with its row; :func:`load_splits` calls it for non-embedded profiles before
any training or generation starts.
"""
