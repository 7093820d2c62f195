"""Saving and loading models (npz + JSON, atomic, bounded, never pickle)."""

from .save import FORMAT_VERSION, load, load_history, load_info, save

__all__ = ["save", "load", "load_history", "load_info", "FORMAT_VERSION"]
