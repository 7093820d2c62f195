"""Exceptions and warnings that glassnet raises."""

__all__ = ["ShapeError", "GradcheckError", "ConvergenceWarning", "FileFormatError"]


class ShapeError(ValueError):
    """An array or tensor has a shape the receiver cannot take."""


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with central finite differences."""


class ConvergenceWarning(UserWarning):
    """An iterative algorithm stopped before it converged."""


class FileFormatError(ValueError):
    """A file is not a glassnet model file, is truncated, or has a newer format."""
