"""Energy of inference at one batch size, measured in the worker that runs the model.

The worker's "energy" command runs the prepared batch repeatedly inside one energy window that is
long enough for the meter (at least ``min_window_s`` and 10 x the counter's update period; the work is
repeated until then, and the reading says so), and answers with the energy of one batch call.

Meters are chosen once per worker by :func:`effbench.measure.energy.select_meters`: RAPL when its
counters are readable, NVML for NVIDIA GPUs, else the labelled CPU estimate. The CPU estimate uses the
worker's own CPU time, which is why energy is measured here and not in the parent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from effbench.validation import Interval, check


@dataclass(frozen=True)
class EnergyConfig:
    enabled: bool = True
    min_window_s: float = 0.2        # each energy window lasts at least this long
    tdp_w: float | None = None       # CPU TDP for the estimate (default: see docs/energy.md)
    allow_nvml: bool = True
    idle_s: float = 1.0              # idle baseline measured before the run
    rapl_root: str | None = None     # powercap folder (default /sys/class/powercap); tests point it at a fake tree

    def __post_init__(self):
        check("energy.min_window_s", self.min_window_s, Interval(float, 0, None, closed="neither"))
        check("--cpu-tdp-w", self.tdp_w, Interval(float, 0, None, closed="neither"), None)
        check("energy.idle_s", self.idle_s, Interval(float, 0, None))

    def to_dict(self) -> dict:
        return asdict(self)


def build_meter(config: EnergyConfig):
    """One meter over every available source (a MultiMeter when there are several), and the notices."""
    from effbench.measure.energy import DEFAULT_RAPL_ROOT, MultiMeter, select_meters

    meters, notices = select_meters(rapl_root=config.rapl_root or DEFAULT_RAPL_ROOT, allow_nvml=config.allow_nvml, tdp_w=config.tdp_w)
    meter = meters[0] if len(meters) == 1 else MultiMeter(meters)
    return meter, notices


def handle_energy(state, batch_size: int, config: dict):
    """Worker command ("energy", batch_size, EnergyConfig as dict) -> ("energy", reading of one batch call)."""
    from effbench.measure.energy import measure_energy
    from effbench.measure.inputs import batch_of

    cfg = EnergyConfig(**config)
    if getattr(state, "energy_meter", None) is None:
        state.energy_meter, state.energy_notices = build_meter(cfg)
    meter = state.energy_meter
    c = state.candidate
    prepared = c.prepare(batch_of(state.X, int(batch_size)))

    def once():
        c.infer(prepared)
        c.sync()

    once()  # warm
    window = max(cfg.min_window_s, 10 * meter.update_period_s)
    reading, repeats = measure_energy(once, meter, min_window_s=window)
    per_call = reading.per_repeat(repeats)
    return ("energy", {
        "energy_per_batch_j": per_call.energy_j,
        "duration_per_batch_s": per_call.duration_s,
        "window_s": reading.duration_s,
        "window_energy_j": reading.energy_j,
        "repeats": repeats,
        "provenance": reading.provenance,
        "meter": reading.meter,
        "domains": {k: v / repeats for k, v in reading.domains.items()},
        "domain_provenance": dict(reading.domain_provenance),
        "notes": reading.notes,
        "notices": list(state.energy_notices),
    })
