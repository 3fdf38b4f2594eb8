"""A run's energy set-up: which meters measure (and what is estimated), the idle baseline, the grid's carbon."""

from __future__ import annotations


def energy_setup(config, meter=None, log=None) -> dict | None:
    """Choose the meters (one-line notices say what is estimated and why) and measure idle power."""
    if config is None or not config.enabled:
        return None
    from effbench.measure.energy_cells import build_meter

    notices = []
    if meter is None:
        meter, notices = build_meter(config)
    for n in notices:
        if log:
            log(n)
    # the estimate's idle power is part of its model (no waiting); a counter's is measured over idle_s (0: skipped),
    # also when it is one part of a mixed meter (a GPU counter beside the CPU estimate)
    waits = bool(getattr(meter, "reads_a_counter", meter.provenance != "estimated"))
    idle = meter.idle_power_w(seconds=config.idle_s or 1.0) if not waits or config.idle_s > 0 else None
    return {
        "meter": meter.name,
        "provenance": meter.provenance,
        "idle_power_w": idle,
        "idle_provenance": meter.provenance,
        "idle_seconds": config.idle_s if waits and idle is not None else 0.0,
        "notices": notices,
        "config": config.to_dict(),
        **({"tdp_w": meter.tdp_w, "tdp_source": meter.tdp_source} if hasattr(meter, "tdp_w") else {}),
    }


def resolve_carbon(region=None, g_per_kwh=None) -> dict:
    """Grid carbon intensity from a region code or a value (default: the world average; see docs/energy.md)."""
    from effbench.measure.carbon import carbon_intensity

    ci = carbon_intensity(region, g_per_kwh=g_per_kwh)
    return {"g_per_kwh": ci.g_per_kwh, "region": ci.region, "source": ci.source, "year": ci.year}
