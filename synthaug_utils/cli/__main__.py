"""``python -m synthaug_utils.cli``: the same as the ``synthaug`` command."""

import sys

from synthaug_utils.cli import main

sys.exit(main())
