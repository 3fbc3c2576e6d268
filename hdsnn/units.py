"""Units at the boundary: a parameter with a unit takes a float in that unit or a quantity.

A quantity is a Brian2 ``Quantity`` (``0.1*ms``) or a ``quantities`` one
(``0.1 * pq.ms``, as Neo and Elephant use); it is converted to a float in the
parameter's documented unit, and a quantity of the wrong dimension is refused
with a message naming the parameter.
"""
from __future__ import annotations

__all__ = ["UNITS", "magnitude"]

#: Units that parameters are documented in.
UNITS = ("ms", "s", "mV", "Hz", "nS", "nA")


def magnitude(name: str, value, unit: str):
    """``value`` as a float in ``unit`` (a float is taken as already in ``unit``).

    Examples
    --------
    >>> magnitude("dt", 0.1, "ms")
    0.1
    >>> import brian2
    >>> magnitude("dt", 2 * brian2.second, "ms")
    2000.0
    >>> import quantities as pq
    >>> magnitude("noise", 1 * pq.mV, "mV")
    1.0
    >>> magnitude("dt", 1 * brian2.mV, "ms")
    Traceback (most recent call last):
    ...
    ValueError: dt must be a time in ms (a float, or a quantity convertible to ms); got 1. mV
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(map(repr, UNITS))}; got {unit!r}")
    if hasattr(value, "dim") and hasattr(value, "has_same_dimensions"):        # brian2 Quantity
        import brian2

        target = getattr(brian2, unit) if unit != "s" else brian2.second
        if not value.has_same_dimensions(target):
            raise ValueError(_wrong(name, unit, value))
        return float(value / target)
    if hasattr(value, "rescale") and hasattr(value, "magnitude"):              # quantities.Quantity
        try:
            return float(value.rescale(unit).magnitude)
        except ValueError:
            raise ValueError(_wrong(name, unit, value)) from None
    return value


def _wrong(name, unit, value) -> str:
    what = {"ms": "a time", "s": "a time", "mV": "a voltage", "Hz": "a rate", "nS": "a conductance",
            "nA": "a current"}[unit]
    return f"{name} must be {what} in {unit} (a float, or a quantity convertible to {unit}); got {value}"
