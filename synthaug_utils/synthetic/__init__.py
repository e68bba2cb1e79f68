"""Stage 3 - synthetic image sets: manifests, planning, generation into sets, the released set."""
