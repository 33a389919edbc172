"""Element types by name: activations ("f32", "f16", "bf16") and low-bit
codes ("u1".."u8", "s1".."s8", float formats "e2m1" / "f4e2m1" and the
builtin names "f4E2M1FN", "f6E3M2FN", "f6E2M3FN", "f8E4M3FN", "f8E5M2")."""

import re
from dataclasses import dataclass

import numpy as np

ACTIVATION_TYPES = {"f32": np.float32, "f16": np.float16, "bf16": np.uint16}
BUILTIN_FLOATS = {"f4E2M1FN": (2, 1), "f6E3M2FN": (3, 2), "f6E2M3FN": (2, 3),
                  "f8E4M3FN": (4, 3), "f8E5M2": (5, 2)}


@dataclass(frozen=True)
class CodeType:
    """A low-bit code type: integer (signed or not) or float format (e, m)."""
    bits: int
    signed: bool = False
    float_format: tuple = None  # (E, M) for float codes
    builtin: str = None         # the builtin MLIR spelling, if any

    @property
    def is_float(self):
        return self.float_format is not None

    def mlir(self):
        if self.builtin:
            return self.builtin
        if self.is_float:
            e, m = self.float_format
            return f"!tessera.f{1 + e + m}e{e}m{m}"
        return f"{'s' if self.signed else 'u'}i{self.bits}"

    def code_range(self):
        if self.signed:
            return -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1
        return 0, (1 << self.bits) - 1

    def __str__(self):
        if self.is_float:
            return self.builtin or "e%dm%d" % self.float_format
        return f"{'s' if self.signed else 'u'}{self.bits}"


def code_type(name):
    """Parses a code type name; raises ValueError for anything else."""
    if isinstance(name, CodeType):
        return name
    if name in BUILTIN_FLOATS:
        e, m = BUILTIN_FLOATS[name]
        return CodeType(1 + e + m, False, (e, m), name)
    match = re.fullmatch(r"(?:f(\d))?e(\d)m(\d)", name)
    if match:
        e, m = int(match.group(2)), int(match.group(3))
        if match.group(1) and int(match.group(1)) != 1 + e + m:
            raise ValueError(f"{name!r}: f{match.group(1)} does not have 1 + {e} + {m} bits")
        if e < 1 or m < 1 or not 3 <= 1 + e + m <= 8:
            raise ValueError(f"{name!r}: float codes need E >= 1, M >= 1 and 3 to 8 bits")
        return CodeType(1 + e + m, False, (e, m))
    match = re.fullmatch(r"(u|s|ui|si|uint|int)(\d)", name)
    if match:
        bits = int(match.group(2))
        if not 1 <= bits <= 8:
            raise ValueError(f"{name!r}: integer codes have 1 to 8 bits")
        return CodeType(bits, match.group(1) in ("s", "si", "int"))
    raise ValueError(
        f"unknown code type {name!r}: use u1..u8, s1..s8, a float format such as "
        f"e2m1 or f6e3m2, or one of {', '.join(BUILTIN_FLOATS)}")


def activation_type(name):
    if name not in ACTIVATION_TYPES:
        raise ValueError(f"unknown activation dtype {name!r}: use f32, f16 or bf16")
    return name
