"""Command-line options generated from the parameter records (:func:`hdsnn.config.options`).

One option per declared field: its flag (``--p-flip`` for ``p_flip``), type,
choices, default, unit and help come from the record, so the command line
never repeats a default or a range. Optional fields take ``none``.

Examples
--------
>>> import argparse
>>> from hdsnn.config import TrialConfig
>>> p = argparse.ArgumentParser()
>>> add_record(p, TrialConfig)[:3]
['pretime', 'posttime', 'cue']
>>> record_from_args(TrialConfig, p.parse_args(["--p-flip", "0.25"])).p_flip
0.25
"""
from __future__ import annotations

import argparse

from .config import options

__all__ = ["Formatter", "add_record", "record_from_args", "given_options", "owners", "option_type"]


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default, except where it is None (the help says what None means)."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


def option_type(kind: str, optional: bool):
    """argparse ``type`` of a record field; 'none' gives None for optional fields."""
    cast = {"int": int, "float": float, "str": str}[kind]

    def parse(text):
        return None if optional and text.lower() == "none" else cast(text)
    parse.__name__ = kind
    return parse


def add_record(group, record, *, skip=(), rename=None, keep_default=True, owners=None) -> list[str]:
    """Add one option per CLI field of a record to an argparse group; returns the dest names.

    A field whose flag the parser already has (the same field of another record) is skipped.
    """
    rename, names = rename or {}, []
    for o in options(record):
        dest = rename.get(o.name, o.name)
        if not o.cli or o.name in skip:
            continue
        flag = "--" + dest.replace("_", "-")
        default = o.default if keep_default else None
        text = o.help + (f" ({o.unit})" if o.unit else "") + (f" [{owners[o.name]}]" if owners else "")
        if o.kind == "bool":
            kw = {"action": argparse.BooleanOptionalAction}
        else:
            kw = {"type": option_type(o.kind, o.optional), "choices": o.choices}
            text += "; 'none' for none" if o.optional else ""
        try:
            group.add_argument(flag, *("--" + a.replace("_", "-") for a in o.aliases), dest=dest, default=default,
                               help=text, **kw)
        except argparse.ArgumentError:               # conflicting option string: already declared
            continue
        names.append(dest)
    return names


def record_from_args(cls, args, **fixed):
    """A record from the parsed options of its CLI fields (``fixed`` fields set by the caller)."""
    names = {o.name for o in options(cls) if o.cli}
    return cls(**{k: v for k, v in vars(args).items() if k in names and k not in fixed}, **fixed)


def given_options(args, records, method, family: str, rename=None, skip=()) -> dict:
    """Options given on the command line (not None) of the chosen method's record; others refused."""
    rename = rename or {}
    chosen = {o.name for o in options(records[method])}
    all_names = {o.name for cls in records.values() for o in options(cls) if o.cli and o.name not in skip}
    given = {k: getattr(args, rename.get(k, k)) for k in all_names if getattr(args, rename.get(k, k), None) is not None}
    stray = sorted(set(given) - chosen)
    if stray:
        flags = ", ".join("--" + rename.get(k, k).replace("_", "-") for k in stray)
        raise ValueError(f"{flags} do(es) not apply to {family} {method!r}")
    return given


def owners(records: dict) -> dict:
    """For each option, the methods that take it with their defaults: ``'hebbian: 2.5, lstsq: 2.0'``."""
    owners = {}
    for name, cls in records.items():
        for o in options(cls):
            owners.setdefault(o.name, []).append(f"{name}: {o.default}")
    return {k: ", ".join(v) for k, v in owners.items()}
