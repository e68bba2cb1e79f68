"""Stage 2 - diffusion models: prompts, settings, masks, pipelines, the demo generator, DreamBooth, model resolution.

Model resolution lives above the code it calls: :mod:`~synthaug_utils.diffusion.pipelines` only *locates* models
(``locate_model`` never trains), and :mod:`~synthaug_utils.diffusion.resolve` pretrains a missing demo model or
fine-tunes a DreamBooth model on demand. The synthetic-set stage resolves through ``resolve``.

Generation (with :mod:`synthaug_utils.synthetic`): text-to-image, inpaint, outpaint, in-then-outpaint.

One code path serves every model size: diffusers' ``StableDiffusionPipeline`` (text-to-image)
and ``StableDiffusionInpaintPipeline`` (the masked methods) with a DPMSolverMultistep
scheduler, loaded from a Hugging Face id (offline, from the local cache), a local
diffusers folder, or a ``demo://`` id (the embedded demo generator,
:mod:`synthaug_utils.diffusion.demo_model`). Settings follow the paper's protocol
(:mod:`synthaug_utils.core.protocol`, "Generation"); every one is a field of :class:`GenerationSettings`.

Methods (``METHODS``) and their masks (True = pixels the model repaints):

- ``text-to-image``: the class prompt alone; tied to a real image by name only;
- ``inpaint``: the centred square of half the side (px 128-384 at 512), strength 0.97;
- ``outpaint``: the complement of that square minus a thin outer frame (16 px at 512,
  scaled with the resolution) that stays unmasked, strength 0.95;
- ``in-then-outpaint``: inpaint, then outpaint the result; both stages are kept
  (stage ``inpaint`` and stage ``final``). The first stage uses the inpaint method's
  seed, so it is the very image the ``inpaint`` method makes for the same source and
  index (as in the authors' runs, which produced both from one pass).

Every image's seed is derived from (source id, method, variant, index)
(:func:`derive_seed`) and drives a generator of its own, so an image does not depend on
batch size or order. Images are written under a temporary name and renamed; a re-run
skips images already on disk and valid, so an interrupted run resumes. Every run
writes ``manifest.csv`` (columns :data:`synthaug_utils.synthetic.manifest.MANIFEST_COLUMNS`) atomically; training reads
synthetic images only through :func:`synthaug_utils.synthetic.manifest.read_manifest`. Sources that are validation or
test images are refused (:func:`synthaug_utils.data.splits.assert_no_leakage`).

The authors' released synthetic images (WebDataset tar shards) become a manifest with
:func:`synthaug_utils.synthetic.released.manifest_from_webdataset`.
"""
