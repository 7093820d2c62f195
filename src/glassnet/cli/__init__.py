"""The ``glassnet`` command line: ``glassnet train | evaluate | predict`` (see ``main.py``)."""

from .main import RECIPES, main

__all__ = ["main", "RECIPES"]
