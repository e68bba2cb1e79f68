"""Level and power of the primary analysis, beside the tests it replaced.

Simulated classifiers (``synthaug_utils.analysis.level_simulation``): ``seeds`` runs per arm score the
same test images; test-image difficulty N(0, 1.5^2) on the logit scale; each (arm, seed) model has its
own logit shift of SD ``sigma`` (0.2 is a per-run accuracy SD of about 4.7 pp); a true effect of 0
(level: how often a star is wrong at alpha = 0.05) or +8 pp (power).

Tests compared:

- ``primary``: :func:`synthaug_utils.analysis.stats.primary_comparison` (what the book's stars use);
- ``gee (former)``: a logistic GEE of per-image correctness with the seed as a fixed factor,
  clustered by test image (the former primary test; statsmodels);
- ``bootstrap CI (former)``: the former interval, a percentile bootstrap resampling seeds and test
  images, counted as a rejection when it excludes 0.

Usage: ``python benchmarks/primary_level.py [--replicates 1000] [--former-replicates 200] [--no-save]``.
Writes ``benchmarks/primary_level_results.csv`` (read by the book's Methods page) and ``.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthaug_utils.analysis import level_simulation as sim  # noqa: E402
from synthaug_utils.analysis import stats  # noqa: E402

HERE = Path(__file__).resolve().parent
DESIGNS = [(2, 360), (3, 360), (5, 360), (10, 360), (3, 32), (5, 32), (5, 40)]
SIGMAS = (0.0, 0.1, 0.2, 0.4)
FORMER_DESIGNS = [(5, 360)]


def primary_p(a, b) -> float:
    return stats.primary_comparison(a, b).p_value


def gee_p(a, b) -> float:
    """Logistic GEE, seed as a fixed factor, clusters = test images, exchangeable working correlation."""
    import statsmodels.api as sm

    seeds, images = a.shape
    y = np.concatenate([a.ravel(), b.ravel()])
    arm = np.repeat([1.0, 0.0], seeds * images)
    seed_idx = np.tile(np.repeat(np.arange(seeds), images), 2)
    groups = np.tile(np.tile(np.arange(images), seeds), 2)
    X = np.column_stack([np.ones_like(y), arm] + [(seed_idx == s).astype(float) for s in range(1, seeds)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = sm.GEE(y, X, groups=groups, family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable()).fit(
            maxiter=100
        )
        z = float(fit.params[1] / fit.bse[1])
    for w in caught:  # shown, not silenced: a reader of the benchmark sees where the GEE struggled
        print(f"  GEE warning: {w.message}", file=sys.stderr)
    from scipy import stats as sps

    return float(2 * sps.norm.sf(abs(z)))


def bootstrap_ci_p(a, b, n_boot: int = 1000) -> float:
    """0 when the hierarchical (seeds x images) percentile interval excludes 0, else 1."""
    d = a - b
    seeds, images = d.shape
    rng = np.random.default_rng(0)
    seed_w = rng.multinomial(seeds, np.full(seeds, 1 / seeds), size=n_boot) / seeds
    image_w = rng.multinomial(images, np.full(images, 1 / images), size=n_boot) / images
    boots = np.einsum("bs,si,bi->b", seed_w, d, image_w)
    low, high = np.quantile(boots, [0.025, 0.975])
    return 0.0 if (low > 0 or high < 0) else 1.0


def table(replicates: int, former_replicates: int) -> pd.DataFrame:
    rows = []
    tests = [
        ("primary", primary_p, DESIGNS, replicates),
        ("gee (former)", gee_p, FORMER_DESIGNS, former_replicates),
        ("bootstrap CI (former)", bootstrap_ci_p, FORMER_DESIGNS, former_replicates),
    ]
    for name, pvalue, designs, reps in tests:
        for seeds, images in designs:
            for sigma in SIGMAS:
                for effect in (0.0, 8.0):
                    start = time.perf_counter()
                    r = sim.rejection_rate(pvalue, seeds, images, sigma, effect, reps, seed=7)
                    rows.append(
                        {
                            "test": name,
                            "seeds": seeds,
                            "images": images,
                            "sigma": sigma,
                            "effect_pp": effect,
                            "replicates": reps,
                            "rejection_rate": round(r.rate, 4),
                            "se": round(r.se, 4),
                            "seconds": round(time.perf_counter() - start, 2),
                        }
                    )
                    print(
                        f"{name:22s} {seeds:2d} x {images:3d}  sigma {sigma:.1f}  effect {effect:+.0f} pp: "
                        f"{r.rate:.3f} (+/- {r.se:.3f})",
                        flush=True,
                    )
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--former-replicates", type=int, default=200)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    out = table(args.replicates, args.former_replicates)
    wide = out.pivot_table(
        index=["test", "seeds", "images", "effect_pp"], columns="sigma", values="rejection_rate"
    ).reset_index()
    wide.columns = [c if isinstance(c, str) else f"sigma {c:g}" for c in wide.columns]
    md = (
        "# Level and power of the primary analysis\n\n"
        "Rejection rate at alpha = 0.05 (effect 0 pp: level; effect 8 pp: power) by per-run logit SD sigma. "
        f"Replicates: {args.replicates} (primary), {args.former_replicates} (former tests). "
        "Produced by `python benchmarks/primary_level.py`.\n\n" + wide.to_markdown(index=False) + "\n"
    )
    print(md)
    if not args.no_save:
        out.to_csv(HERE / "primary_level_results.csv", index=False)
        (HERE / "primary_level_results.md").write_text(md)


if __name__ == "__main__":
    main()
