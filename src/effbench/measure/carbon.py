"""Carbon: energy x grid carbon intensity (gCO2e per kWh).

The intensity comes from a value the user gives, or from a region code:

1. a small built-in table of yearly averages (data year 2023) from Ember's yearly electricity
   data: lifecycle emissions of electricity *generation*, gCO2e/kWh. Sources per row below;
2. for any other ISO 3166-1 alpha-3 code, the per-country table shipped in the codecarbon
   package (``codecarbon/data/private_infra/global_energy_mix.json``: Our World in Data's
   processing of Ember and Energy Institute data), read at run time when codecarbon is
   installed. effbench does not depend on codecarbon (it pulls pandas and a dozen others).

The default, when neither a value nor a region is given, is the world average for 2023.

A carbon figure from a yearly grid average is always an estimate, even when the energy was
measured: :class:`CarbonEstimate` keeps the energy's provenance next to it.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from effbench.errors import ConfigError
from effbench.validation import Interval, Options, check

__all__ = [
    "CarbonIntensity",
    "CarbonEstimate",
    "GRID_INTENSITY_2023",
    "DEFAULT_REGION",
    "J_PER_KWH",
    "carbon_intensity",
    "estimate_carbon",
    "carbon_g",
    "known_regions",
]

J_PER_KWH = 3.6e6
DEFAULT_REGION = "WORLD"

_OWID = (
    "Ember & Energy Institute via Our World in Data, 'Carbon intensity of electricity "
    "generation, 1990 to 2023' (ourworldindata.org/grapher/carbon-intensity-electricity)"
)
_EMBER_STATISTA_WORLD = (
    "Ember (2024), 'Electricity generation emission intensity in selected countries worldwide "
    "in 2023', as published by Statista (statista.com/statistics/943137)"
)
_EMBER_STATISTA_EU = (
    "Ember (2024), 'Carbon intensity of the power sector in the European Union in 2023, by "
    "country', as published by Statista"
)

#: alpha-3 code -> (alpha-2, name, gCO2e/kWh, data year, source). Rounded as published.
GRID_INTENSITY_2023: Mapping[str, tuple[str, str, float, int, str]] = {
    "WORLD": ("WORLD", "World average", 481.0, 2023, _EMBER_STATISTA_WORLD),
    "AUS": ("AU", "Australia", 549.0, 2023, _OWID),
    "AUT": ("AT", "Austria", 111.0, 2023, _OWID),
    "BEL": ("BE", "Belgium", 138.0, 2023, _OWID),
    "BRA": ("BR", "Brazil", 98.0, 2023, _OWID),
    "CAN": ("CA", "Canada", 170.0, 2023, _OWID),
    "CHL": ("CL", "Chile", 291.0, 2023, _OWID),
    "CHN": ("CN", "China", 582.0, 2023, _OWID),
    "CZE": ("CZ", "Czechia", 450.0, 2023, _OWID),
    "DEU": ("DE", "Germany", 381.0, 2023, _OWID),
    "DNK": ("DK", "Denmark", 152.0, 2023, _OWID),
    "FIN": ("FI", "Finland", 79.0, 2023, _OWID),
    "FRA": ("FR", "France", 56.0, 2023, _OWID),
    "GRC": ("GR", "Greece", 337.0, 2023, _OWID),
    "IND": ("IN", "India", 713.0, 2023, _OWID),
    "IRL": ("IE", "Ireland", 291.0, 2023, _OWID),
    "NOR": ("NO", "Norway", 30.0, 2023, _EMBER_STATISTA_WORLD),
    "POL": ("PL", "Poland", 662.0, 2023, _EMBER_STATISTA_EU),
    "SWE": ("SE", "Sweden", 40.7, 2023, _EMBER_STATISTA_EU),
}

_ALPHA2 = {row[0]: code for code, row in GRID_INTENSITY_2023.items()}


@dataclass(frozen=True)
class CarbonIntensity:
    """A grid carbon intensity with its origin."""

    g_per_kwh: float
    region: str | None  # alpha-3 code, 'WORLD', or None for a user value
    source: str
    year: int | None

    def to_dict(self) -> dict:
        return {"g_per_kwh": self.g_per_kwh, "region": self.region, "source": self.source, "year": self.year}


@dataclass(frozen=True)
class CarbonEstimate:
    """Carbon of an amount of energy; always ``estimated`` (a yearly grid average)."""

    co2e_g: float
    energy_j: float
    energy_provenance: str
    intensity: CarbonIntensity
    provenance: str = "estimated"

    def to_dict(self) -> dict:
        return {
            "co2e_g": self.co2e_g,
            "energy_j": self.energy_j,
            "energy_provenance": self.energy_provenance,
            "provenance": self.provenance,
            "intensity": self.intensity.to_dict(),
        }


def _codecarbon_energy_mix() -> tuple[dict, str] | None:
    spec = importlib.util.find_spec("codecarbon")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        path = Path(loc) / "data" / "private_infra" / "global_energy_mix.json"
        if path.is_file():
            try:
                return json.loads(path.read_text()), str(path)
            except (OSError, ValueError):
                return None
    return None


def known_regions(*, include_codecarbon: bool = True) -> list[str]:
    """Region codes accepted: the built-in alpha-2 and alpha-3 codes, plus codecarbon's."""
    codes = set(GRID_INTENSITY_2023) | set(_ALPHA2)
    if include_codecarbon:
        mix = _codecarbon_energy_mix()
        if mix is not None:
            codes |= {k for k, v in mix[0].items() if isinstance(v, dict) and "carbon_intensity" in v}
    return sorted(codes)


def carbon_intensity(
    region: str | None = None, *, g_per_kwh: float | None = None, use_codecarbon: bool = True
) -> CarbonIntensity:
    """Grid carbon intensity from a value, a region code, or the documented default (WORLD 2023).

    ``region`` is an ISO 3166-1 alpha-2 or alpha-3 code (case-insensitive) or ``WORLD``.
    """
    if g_per_kwh is not None and region is not None:
        raise ConfigError(
            f"carbon intensity: give either a region or a value in gCO2e/kWh, not both; got region={region!r} "
            f"and value={g_per_kwh!r}"
        )
    if g_per_kwh is not None:
        check("carbon_intensity_g_per_kwh", g_per_kwh, Interval(float, 0, None))
        return CarbonIntensity(float(g_per_kwh), None, "given by the user", None)
    code = (region or DEFAULT_REGION).strip().upper()
    code = _ALPHA2.get(code, code)
    if code in GRID_INTENSITY_2023:
        _, name, value, year, source = GRID_INTENSITY_2023[code]
        return CarbonIntensity(value, code, f"{name}: {source}", year)
    if use_codecarbon:
        mix = _codecarbon_energy_mix()
        if mix is not None:
            data, path = mix
            row = data.get(code)
            if isinstance(row, dict) and isinstance(row.get("carbon_intensity"), (int, float)):
                year = row.get("year")
                return CarbonIntensity(
                    float(row["carbon_intensity"]),
                    code,
                    f"{row.get('country_name', code)}: codecarbon's global_energy_mix.json ({path})",
                    int(year) if isinstance(year, (int, float)) else None,
                )
    shown = ", ".join(sorted(set(_ALPHA2) - {"WORLD"}))
    raise ConfigError(
        f"region: unknown grid region {region!r}; allowed: WORLD, {shown} (or their alpha-3 codes; "
        f"install codecarbon for every country) or give an intensity in gCO2e/kWh"
    )


def carbon_g(energy_j: float, g_per_kwh: float) -> float:
    """Grams of CO2e for ``energy_j`` joules at ``g_per_kwh``."""
    return float(energy_j) / J_PER_KWH * float(g_per_kwh)


def estimate_carbon(
    energy_j: float,
    *,
    region: str | None = None,
    g_per_kwh: float | None = None,
    energy_provenance: str = "measured",
    use_codecarbon: bool = True,
) -> CarbonEstimate:
    """Carbon of ``energy_j`` joules; the energy's provenance travels with the result."""
    check("energy_j", energy_j, Interval(float, 0, None))
    check("energy_provenance", energy_provenance, Options({"measured", "estimated"}))
    intensity = carbon_intensity(region, g_per_kwh=g_per_kwh, use_codecarbon=use_codecarbon)
    return CarbonEstimate(carbon_g(energy_j, intensity.g_per_kwh), float(energy_j), energy_provenance, intensity)
