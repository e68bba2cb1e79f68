"""Stage 2 - diffusion models: pipelines, masks, prompts, seeds, the demo generator, DreamBooth, model resolution.

- :mod:`synthaug_utils.diffusion.demo_generator`
- :mod:`synthaug_utils.diffusion.dreambooth`
- :mod:`synthaug_utils.diffusion.generation`
"""
