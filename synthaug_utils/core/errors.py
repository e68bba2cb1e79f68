"""Error types whose messages are meant for the user (the CLI prints them without a traceback)."""

from __future__ import annotations


class UserFacingError(Exception):
    """Base class: bad input, missing files, missing models. The message says what and how to fix it."""


class DataError(UserFacingError, ValueError):
    """Bad metadata: a missing column, an unknown label, too few images for a request."""


class MissingImagesError(UserFacingError, FileNotFoundError):
    """Images referenced by metadata are missing or unreadable; names how many and the first few."""


class LeakageError(UserFacingError, ValueError):
    """An image derived from a validation or test image was about to enter training or generation."""


class MissingModelError(UserFacingError, FileNotFoundError):
    """Model weights cannot be loaded offline; names the model and how to supply it."""


class NotPreparedError(UserFacingError, FileNotFoundError):
    """An artefact a step only reads (a synthetic set) was not made; names it and the step that makes it."""
