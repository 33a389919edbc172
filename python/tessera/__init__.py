"""Tessera: a compiler for low-bit and structured tensor programs.

This package holds the numpy reference of every Tessera op
(`tessera.reference`), written independently of the compiler so that users
and tests can check compiled results against it.
"""

from . import reference

__all__ = ["reference"]
