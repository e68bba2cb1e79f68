"""synthaug: a reproducible implementation of Sagers et al. (2023),
"Augmenting medical image classifiers with synthetic data from latent diffusion models".

The subpackages follow the data flow, one stage each; a module imports only from its own stage
and earlier ones (``tests/test_architecture.py`` checks it). Every module, with its one concern:

Stage 0, :mod:`synthaug_utils.core` - what every stage uses: profiles, paths, vocabularies, errors, atomic files,
ImageNet backbones:

- :mod:`synthaug_utils.core.errors` - error types whose messages are meant for the user (the CLI prints them without a
  traceback).
- :mod:`synthaug_utils.core.paths` - where things are: the package folder, the repository root, the cache folder,
  ``demo://`` model ids and the shipped demo weights.
- :mod:`synthaug_utils.core.vocabulary` - the project's fixed vocabularies, each defined once: generation methods and
  variants, model kinds, classifier modes, batch rules, monitors, grid names and the demo caption.
- :mod:`synthaug_utils.core.profiles` - the settings source: every paper value once with its source and note, what
  each embedded profile changes and why, the demo world, the rehearsal's sizes and the project's thresholds.
- :mod:`synthaug_utils.core.rules` - the one validator: what every overridable setting accepts (profile fields,
  recipe, the settings inside each figure grid, the demo world), on every path.
- :mod:`synthaug_utils.core.config` - the profiles built from the settings source, data locations, config files and
  the check of every override.
- :mod:`synthaug_utils.core.inputs` - what a profile needs before it runs: resources (datasets, weights, models),
  chapter inputs, the ready checks.
- :mod:`synthaug_utils.core.chapters` - the chapter registry: each page of the book with its notebook, title, part,
  inputs, grids, the chapters it reads and its figures' captions; the one place that names the chapters (the book's
  ``_toc.yml`` is written from it).
- :mod:`synthaug_utils.core.files` - atomic file writes for the caches and the results store.
- :mod:`synthaug_utils.core.identity` - the content identity of a bring-your-own dataset (rows and image bytes, not its
  place), the cached file hashes, and the one version of every stored key (``KEY_VERSION``).
- :mod:`synthaug_utils.core.protocol` - the paper's protocol, setting by setting: the paper's value, the authors' code's
  where it differs, why embedded profiles deviate (the Methods page's source).
- :mod:`synthaug_utils.core.machine` - the machine and checkout a build or benchmark ran on (CPU model name,
  instruction-set flags, the AVX2 kernel pin, the git commit).
- :mod:`synthaug_utils.core.backbones` - pretrained image backbones: the demo's EfficientNet-Lite0, the paper's
  EfficientNetV2-M, any timm model.

Stage 1, :mod:`synthaug_utils.data` - datasets, splits, images and their checks, the leakage guard, the embedded demo
world:

- :mod:`synthaug_utils.data.images` - reading one image: any mode to 8-bit RGB (alpha on white, CMYK, 16-bit), square
  fitting.
- :mod:`synthaug_utils.data.tables` - dataset tables: Fitzpatrick17k and DDI readers, ``DatasetTables``/``SplitTables``,
  the table digest.
- :mod:`synthaug_utils.data.byo` - bring-your-own datasets: a table or class folders (multi-class or the binary DDI
  slot).
- :mod:`synthaug_utils.data.groups` - groups of bring-your-own images kept in one split: a group column or
  near-duplicate clusters (perceptual hash), and the draws by whole groups.
- :mod:`synthaug_utils.data.world` - the embedded demo world: procedurally drawn stand-in "skin lesion" images.
- :mod:`synthaug_utils.data.checks` - checking every image of a dataset before work starts (cached), and loading image
  arrays.
- :mod:`synthaug_utils.data.splits` - splits, nested training subsets, the profile's dataset tables, the pretraining
  pool and the leakage guard.
- :mod:`synthaug_utils.data.summary` - dataset summaries: composition, capabilities, split sizes, example grids.
- :mod:`synthaug_utils.data.audit` - the near-duplicate audit of the authors' Fitzpatrick17k split files against the
  Fitzpatrick17k-C clusters (shipped metadata, no image).
- :mod:`synthaug_utils.data.near_duplicates` - the profile's near-duplicate settings (``test_set``, ``training_pool``)
  applied to the Fitzpatrick17k tables, and the leaking test images.

Stage 2, :mod:`synthaug_utils.diffusion` - diffusion models: prompts, settings, masks, pipelines, the demo generator,
DreamBooth, model resolution:

- :mod:`synthaug_utils.diffusion.prompts` - prompts, per-image seeds and slugs.
- :mod:`synthaug_utils.diffusion.settings` - generation settings per profile, precision and the base model ids.
- :mod:`synthaug_utils.diffusion.masks` - inpainting masks: centre, outer frame, per method, and random training masks.
- :mod:`synthaug_utils.diffusion.pipelines` - finding (never training) and loading diffusers pipelines, model hashes,
  running text-to-image and inpainting.
- :mod:`synthaug_utils.diffusion.demo_model` - the demo latent diffusion model: architecture, tokenizer, components,
  pipeline folders.
- :mod:`synthaug_utils.diffusion.demo_pretrain` - pretraining the demo generator on the demo world's pretraining pool.
- :mod:`synthaug_utils.diffusion.dreambooth` - DreamBooth fine-tuning of a Stable-Diffusion-architecture model on one
  class's training images.
- :mod:`synthaug_utils.diffusion.resolve` - model resolution above the code it calls: ``demo://`` ids (pretraining the
  demo generator on demand) and DreamBooth models (fine-tuning on demand).
- :mod:`synthaug_utils.diffusion.measure` - chapter 02's generator measurements: throughput, raw mask fidelity, samples,
  autoencoder round trips.

Stage 3, :mod:`synthaug_utils.synthetic` - synthetic image sets: manifests, planning, generation into sets, the released
set:

- :mod:`synthaug_utils.synthetic.manifest` - the synthetic-set manifest: columns, the one reader, the writer, selection.
- :mod:`synthaug_utils.synthetic.plan` - planning a generation run: one task per (source, method, variant, index).
- :mod:`synthaug_utils.synthetic.generate` - running planned tasks into a resumable synthetic set.
- :mod:`synthaug_utils.synthetic.sets` - synthetic sets per profile: folder names and ``ensure_synthetic_set``.
- :mod:`synthaug_utils.synthetic.released` - the authors' released WebDataset shards as a manifest.

Stage 4, :mod:`synthaug_utils.classifier` - classifier training: the recipe, the faithful (fastai) and the fast
(cached-feature) modes:

- :mod:`synthaug_utils.classifier.recipe` - the classifier recipe and its checks, batch-size rule, seeding, fit results,
  early stopping.
- :mod:`synthaug_utils.classifier.features` - frozen-body features, their cache and augmented views for the fast mode.
- :mod:`synthaug_utils.classifier.faithful` - the faithful mode: the fastai recipe end to end.
- :mod:`synthaug_utils.classifier.fast` - the fast mode: head training on cached features.
- :mod:`synthaug_utils.classifier.train` - evaluation and ``train_and_evaluate`` (either mode).

Stage 5, :mod:`synthaug_utils.experiments` - trials and grids: specs, one trial, the results store, executors, the
chapter runners:

- :mod:`synthaug_utils.experiments.spec` - trial specs and their keys.
- :mod:`synthaug_utils.experiments.trial` - one trial: its training table, synthetic rows, checks, provenance and
  ``run_trial``.
- :mod:`synthaug_utils.experiments.store` - the results store (one file per trial key) and tidy rows.
- :mod:`synthaug_utils.experiments.executors` - executors: in-process and Dask.
- :mod:`synthaug_utils.experiments.generation_tasks` - generation and DreamBooth through an executor: Dask tasks per
  model and per model x shard of sources, part-manifests assembled into the manifest.
- :mod:`synthaug_utils.experiments.grids` - named grids: settings, specs, preparing synthetic sets, running a grid, mode
  pairs.
- :mod:`synthaug_utils.experiments.chapters` - running a chapter's grids and returning its results (the notebooks' one
  call per step).

Stage 6, :mod:`synthaug_utils.analysis` - numbers out of stored results and images: statistics, figure tables, glue
values, embeddings, quality, chapter reports:

- :mod:`synthaug_utils.analysis.stats` - statistics for the results chapters: the paper's convention (Wald, proportion
  tests, BH) and the primary analysis (paired difference with run and test-image variance).
- :mod:`synthaug_utils.analysis.tables` - the tables behind the results figures: trials from the results store in,
  statistics out.
- :mod:`synthaug_utils.analysis.highlights` - the per-figure highlights as raw numbers to glue; p-values and
  intervals as text.
- :mod:`synthaug_utils.analysis.leakage` - Fig. 3's comparisons on leaking and clean test images, from the stored
  per-image predictions.
- :mod:`synthaug_utils.analysis.report` - the reproduction table: our results next to the paper's.
- :mod:`synthaug_utils.analysis.findings` - the front page's Findings table: each headline claim of the paper beside
  this build's result and a verdict.
- :mod:`synthaug_utils.analysis.paper` - the paper's reported numbers, typed once in ``resources/paper_values.csv``.
- :mod:`synthaug_utils.analysis.paper_intervals` - what reproduces (or not) the paper's printed Fig. 5 intervals.
- :mod:`synthaug_utils.analysis.level_simulation` - simulated classifiers for the level and power of a paired comparison
  test.
- :mod:`synthaug_utils.analysis.paper_workload` - what a paper build does, counted without data or GPU: the paper's
  data sizes, its grids' trials, the synthetic images and DreamBooth models it generates (no torch).
- :mod:`synthaug_utils.analysis.paper_cost` - what the full paper grid costs: stage throughputs in, an hours table out,
  and what the authors' released images save (no torch).
- :mod:`synthaug_utils.analysis.embeddings` - image embeddings for Figure 2 / S-3 and the synthetic-set quality metrics,
  cached per image.
- :mod:`synthaug_utils.analysis.quality` - how real are the synthetic images? Distances between sets of image
  embeddings.
- :mod:`synthaug_utils.analysis.pair_distances` - cosine distances between pairs of images (real-real,
  real-synthetic, synthetic vs own source) and the paper's Fig. 2C tests on them.
- :mod:`synthaug_utils.analysis.class_identity` - the class-identity gate: can a classifier tell the synthetic images'
  classes apart?
- :mod:`synthaug_utils.analysis.generation_report` - chapter 02's steps (generation), one function per step, each
  returning values ready to plot or glue: the profile's generation settings, the generator's record, the chapter's
  synthetic sets, the mask-geometry and sample-grid images, the class-identity gate, mask fidelity and generation cost.
- :mod:`synthaug_utils.analysis.embedding_report` - chapter 07's steps (embeddings), one function per step, each
  returning values ready to plot or glue: the embedded real and synthetic images, the images shown beside the
  projections, the pairwise-distance highlights and the quality-versus-gain correlation.

Stage 7, :mod:`synthaug_utils.presentation` - figures and the Jupyter Book:

- :mod:`synthaug_utils.presentation.plot_style` - the one figure style: colour-blind-safe palette, page width, fonts,
  notes and legends, the methods' colours, and ``Drawn`` (a figure with the table it draws).
- :mod:`synthaug_utils.presentation.plots` - one plotting function per results figure (Figs. 3, 4, 5, S-1, S-2, fast
  vs faithful, the learning curve); each returns the figure with the table it drew.
- :mod:`synthaug_utils.presentation.data_plots` - one plotting function per figure of the data and the synthetic
  images (composition, example grids, masks, samples, the class-identity gate, generation cost, embeddings, distances,
  set quality); each returns the figure with the table it drew.
- :mod:`synthaug_utils.presentation.figures` - numbered, captioned figures (PNG, CSV of the numbers drawn, rebuild
  commands) and tables shown the same way (numbered, captioned, CSV linked).
- :mod:`synthaug_utils.presentation.prose` - the few sentences that must be computed (the data chapter's opening,
  grouping, dropped labels and skin types, the results chapters' analyses, controls and limits, chapter 08's value
  agreement); all other prose is the notebooks' Markdown.
- :mod:`synthaug_utils.presentation.generation_prose` - chapter 02's computed sentences: where the generator came from,
  where its settings depart from the paper's, the class-identity gate's verdicts, the seam verdict.
- :mod:`synthaug_utils.presentation.cost_prose` - the sentences on what a paper build costs: the estimate's
  assumptions and which synthetic source a build used and what the released images save (the Methods page).
- :mod:`synthaug_utils.presentation.glue_registry` - every glued value per chapter, with its unit and whether it is
  glued raw (``resources/glue_keys.yml``), read by the reference check and the tests.
- :mod:`synthaug_utils.presentation.outputs` - what an executed chapter shows: folded inputs, hidden parameter cells, no
  stderr, warnings or progress bars (those go to the terminal).
- :mod:`synthaug_utils.presentation.methods` - the Methods page, generated from the build's profile and the protocol
  table.
- :mod:`synthaug_utils.presentation.profile_box` - the box on every chapter that says which profile, data and models the
  page shows.
- :mod:`synthaug_utils.presentation.book` - execute the chapter notebooks with papermill and build the Jupyter Book
  (HTML).
- :mod:`synthaug_utils.presentation.screenshots` - ``make screenshots``: a PNG of every page of a built book (headless
  Chromium).
- :mod:`synthaug_utils.presentation.environment` - the machine and software a build ran on (CPU, kernels,
  packages, GPU, when the chapters ran), for the reference and the reproducibility statement.
- :mod:`synthaug_utils.presentation.reference` - a reference of every value glued into a built book, and how a build
  compares with it.
- :mod:`synthaug_utils.presentation.checklist` - the reporting-checklist page: where the book answers each item of CLAIM
  2024 and TRIPOD+AI.
- :mod:`synthaug_utils.presentation.bibstyle` - the References page's author-year labels (a Sphinx extension registering
  a pybtex style).
- :mod:`synthaug_utils.presentation.pdf` - ``synthaug pdf``: the whole built book as one PDF (singlehtml printed by
  headless Chromium).

Stage 8, :mod:`synthaug_utils.rehearsal` - the miniature paper-format world and ``synthaug rehearse``:

- :mod:`synthaug_utils.rehearsal.common` - shared pieces of the rehearsal world: seeds, markers, drawing and image
  bytes.
- :mod:`synthaug_utils.rehearsal.datasets` - Fitzpatrick17k and DDI in their real formats, drawn small.
- :mod:`synthaug_utils.rehearsal.byo` - bring-your-own tables and folders, and the bad table.
- :mod:`synthaug_utils.rehearsal.models` - shrunk Stable Diffusion folders, classifier weights and the open_clip
  checkpoint.
- :mod:`synthaug_utils.rehearsal.world` - a miniature paper-format world: every input of the ``paper`` profile, small
  enough for a CPU.
- :mod:`synthaug_utils.rehearsal.run` - ``synthaug rehearse``: the paper profile, end to end, at miniature size on the
  CPU.

Stage 9, :mod:`synthaug_utils.cli` - the ``synthaug`` command line: argument checks and one module per command group:

- :mod:`synthaug_utils.cli` - ``main``, the parser and the lazy table of subcommand modules
- :mod:`synthaug_utils.cli.__main__` - ``python -m synthaug_utils.cli``: the same as the ``synthaug`` command.
- :mod:`synthaug_utils.cli.checks` - checks of the command line's arguments, run before any work starts (no kernel,
  model load or cluster).
- :mod:`synthaug_utils.cli.data` - ``synthaug data``.
- :mod:`synthaug_utils.cli.generate` - ``synthaug generate``, ``synthaug dreambooth``, ``synthaug pretrain-generator``.
- :mod:`synthaug_utils.cli.experiments` - ``synthaug trial`` and ``synthaug run``.
- :mod:`synthaug_utils.cli.book` - ``synthaug book``.
- :mod:`synthaug_utils.cli.pdf` - ``synthaug pdf``.
- :mod:`synthaug_utils.cli.rehearse` - ``synthaug rehearse``.
"""

__version__ = "0.1.0"
