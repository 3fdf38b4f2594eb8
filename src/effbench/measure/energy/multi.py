"""Several meters read over the same window as one, each domain keeping its provenance."""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from effbench.errors import ConfigError
from effbench.measure.energy.common import (
    ESTIMATED,
    MEASURED,
    EnergyMeter,
    EnergyReading,
    _join_notes,
    _MeterBase,
)


class MultiMeter(_MeterBase):
    """Several meters read over the same window, one domain per meter domain.

    ``domains`` keys are ``<meter>:<domain>``; ``domain_provenance`` keeps each one's label.
    The total is ``measured`` only when every part is; otherwise it is ``estimated`` and the
    meter name says so, with a note listing which parts were measured.
    """

    def __init__(self, meters: Sequence[EnergyMeter]):
        if not meters:
            raise ConfigError("meters: need at least one meter; got none")
        self.meters = list(meters)
        self.provenance = MEASURED if all(m.provenance == MEASURED for m in self.meters) else ESTIMATED
        base = "+".join(m.name for m in self.meters)
        self.name = base if self.provenance == MEASURED or "estimate" in base else f"{base} (estimate)"
        self.update_period_s = max(m.update_period_s for m in self.meters)

    @property
    def reads_a_counter(self) -> bool:
        return any(getattr(m, "reads_a_counter", m.provenance == MEASURED) for m in self.meters)

    def idle_power_w(self, seconds: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> float:
        """Estimates only: the sum of their modelled idle powers, without waiting; else measured over ``seconds``."""
        if not self.reads_a_counter:
            return float(sum(m.idle_power_w(seconds, sleep) for m in self.meters))
        return super().idle_power_w(seconds, sleep)

    def begin(self) -> list[Any]:
        return [m.begin() for m in self.meters]

    def end(self, token: list[Any]) -> EnergyReading:
        readings = [m.end(t) for m, t in zip(reversed(self.meters), reversed(token))][::-1]
        domains: dict[str, float] = {}
        prov: dict[str, str] = {}
        for r in readings:
            for k, v in r.domains.items():
                domains[f"{r.meter}:{k}"] = v
                prov[f"{r.meter}:{k}"] = r.domain_provenance.get(k, r.provenance)
        notes = [r.notes for r in readings]
        if self.provenance == ESTIMATED and any(r.provenance == MEASURED for r in readings):
            measured = ", ".join(r.meter for r in readings if r.provenance == MEASURED)
            estimated = ", ".join(r.meter for r in readings if r.provenance == ESTIMATED)
            notes.insert(0, f"total labelled estimated: measured part(s) {measured}, estimated part(s) {estimated}")
        return EnergyReading(
            energy_j=sum(r.energy_j for r in readings),
            duration_s=max(r.duration_s for r in readings),
            provenance=self.provenance,
            meter=self.name,
            domains=domains,
            notes=_join_notes(*notes),
            domain_provenance=prov,
        )

    def close(self) -> None:
        for m in self.meters:
            m.close()
