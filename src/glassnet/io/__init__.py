"""Saving and loading models (npz + JSON, atomic, never pickle)."""

from .save import FORMAT_VERSION, load, load_history, save

__all__ = ["save", "load", "load_history", "FORMAT_VERSION"]
