"""Records declare their constraints as data; quantities are converted at the boundary."""
import argparse

import pytest

from hdsnn.cli_options import add_record, record_from_args
from hdsnn.config import NetworkConfig, Record, TrialConfig, options, param
from hdsnn.models.recall import Brian2Options


def test_every_field_of_the_contract_records_is_declared():
    for record in (NetworkConfig, TrialConfig, Brian2Options):
        declared = [o.name for o in options(record)]
        assert declared == [f for f in record.__dataclass_fields__]
        assert all(o.help for o in options(record))


def test_the_declaration_is_what_validates():
    beta = next(o for o in options(NetworkConfig) if o.name == "beta")
    assert (beta.minimum, beta.maximum, beta.open_max) == (0.0, 1.0, True)
    with pytest.raises(ValueError, match=r"^beta must be in \[0.0, 1.0\); got 1.0$"):
        NetworkConfig(beta=1.0)
    with pytest.raises(ValueError, match=r"^cue must be one of 'clamp', 'or'; got 'xor'$"):
        TrialConfig(cue="xor")
    with pytest.raises(ValueError, match=r"^pretime must be an integer; got 1.5 \(float\)$"):
        TrialConfig(pretime=1.5)


def test_quantities_are_converted_to_the_declared_unit():
    import brian2
    import quantities as pq

    opts = Brian2Options(neuron="lif_current", dt_ms=100 * brian2.us, noise_mV=1 * pq.mV,
                         delay_shift_ms=0.5 * brian2.ms)
    assert abs(opts.dt_ms - 0.1) < 1e-12 and opts.noise_mV == 1.0 and opts.delay_shift_ms == 0.5
    with pytest.raises(ValueError, match=r"^noise_mV must be a voltage in mV \(a float, or a quantity "
                                         r"convertible to mV\); got 1\. ms$"):
        Brian2Options(noise_mV=1 * brian2.ms)


def test_a_new_record_gets_its_checks_and_its_cli_from_the_declaration():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Demo(Record):
        rate: float = param(5.0, "a rate", minimum=0.0, open_min=True, unit="Hz")
        mode: str = param("a", "a mode", choices=("a", "b"))
        steps: int | None = param(None, "steps", minimum=1)

    parser = argparse.ArgumentParser()
    assert add_record(parser, Demo) == ["rate", "mode", "steps"]
    args = parser.parse_args(["--rate", "2.5", "--mode", "b", "--steps", "none"])
    assert record_from_args(Demo, args) == Demo(rate=2.5, mode="b", steps=None)
    with pytest.raises(ValueError, match=r"^rate must be in \(0.0, inf\]; got 0.0$"):
        record_from_args(Demo, parser.parse_args(["--rate", "0"]))
    assert "a rate (Hz)" in parser.format_help()
