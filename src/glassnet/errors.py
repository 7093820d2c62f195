"""Exceptions and warnings that glassnet raises."""

__all__ = ["ShapeError", "GradcheckError", "ConvergenceWarning", "FileFormatError",
           "CheckpointError", "NotFittedError"]


class ShapeError(ValueError):
    """An array or tensor has a shape the receiver cannot take."""


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with central finite differences."""


class ConvergenceWarning(UserWarning):
    """An iterative algorithm stopped before it converged."""


class FileFormatError(ValueError):
    """A file is not a glassnet model file, is truncated, or has a newer format."""


class CheckpointError(ValueError):
    """A checkpoint does not fit the Trainer it is loaded into (another architecture,
    optimizer or set of callbacks)."""


class NotFittedError(ValueError, AttributeError):
    """A model or transform was used before ``fit``. Like scikit-learn's NotFittedError (the same
    two bases), so ``except ValueError`` and ``except AttributeError`` both catch it."""
