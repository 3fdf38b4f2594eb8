"""Carbon arithmetic, region lookup, the default, and codecarbon's table read at run time."""

from __future__ import annotations

import importlib
import json
import sys

import pytest

from effbench.errors import ConfigError
from effbench.measure.carbon import (
    DEFAULT_REGION,
    GRID_INTENSITY_2023,
    J_PER_KWH,
    carbon_g,
    carbon_intensity,
    estimate_carbon,
    known_regions,
)


def test_arithmetic_one_kwh():
    assert carbon_g(J_PER_KWH, 56.0) == pytest.approx(56.0)
    assert carbon_g(3600.0, 500.0) == pytest.approx(0.5)  # 1 Wh at 500 g/kWh


def test_region_codes_alpha2_alpha3_case():
    fr = carbon_intensity("fr", use_codecarbon=False)
    assert fr.g_per_kwh == 56.0 and fr.region == "FRA" and fr.year == 2023
    assert "Ember" in fr.source
    assert carbon_intensity("FRA", use_codecarbon=False) == fr


def test_default_is_world_average():
    world = carbon_intensity(use_codecarbon=False)
    assert DEFAULT_REGION == "WORLD" and world.region == "WORLD"
    assert world.g_per_kwh == GRID_INTENSITY_2023["WORLD"][2] == 481.0
    est = estimate_carbon(2 * J_PER_KWH, energy_provenance="estimated", use_codecarbon=False)
    assert est.co2e_g == pytest.approx(962.0)
    assert est.provenance == "estimated" and est.energy_provenance == "estimated"
    assert est.to_dict()["intensity"]["region"] == "WORLD"


def test_user_value():
    ci = carbon_intensity(g_per_kwh=100.0)
    assert ci.region is None and ci.source == "given by the user"
    assert estimate_carbon(J_PER_KWH, g_per_kwh=100.0).co2e_g == pytest.approx(100.0)


def test_unknown_region_lists_allowed():
    with pytest.raises(ConfigError, match=r"region: unknown grid region 'XX'; allowed: WORLD, .*FR"):
        carbon_intensity("XX", use_codecarbon=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"g_per_kwh": -1.0}, "carbon_intensity_g_per_kwh"),
        ({"g_per_kwh": float("nan")}, "carbon_intensity_g_per_kwh"),
        ({"g_per_kwh": 100.0, "region": "FR"}, "not both"),
    ],
)
def test_bad_values(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        carbon_intensity(**kwargs)


def test_bad_energy():
    with pytest.raises(ConfigError, match=r"^energy_j: expected a number >= 0, got -1\.0$"):
        estimate_carbon(-1.0)
    with pytest.raises(ConfigError, match=r"^energy_provenance: expected one of 'estimated', 'measured', got 'analytic'$"):
        estimate_carbon(1.0, energy_provenance="analytic")


def test_codecarbon_table_read_at_run_time(tmp_path, monkeypatch):
    pkg = tmp_path / "codecarbon"
    (pkg / "data" / "private_infra").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    mix = {"USA": {"country_name": "United States", "carbon_intensity": 369.5, "year": 2023}}
    (pkg / "data" / "private_infra" / "global_energy_mix.json").write_text(json.dumps(mix))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "codecarbon", raising=False)
    importlib.invalidate_caches()
    us = carbon_intensity("usa")
    assert us.g_per_kwh == 369.5 and us.year == 2023 and "codecarbon" in us.source
    assert "USA" in known_regions()
    assert carbon_intensity("FR").g_per_kwh == 56.0  # the built-in table wins
    with pytest.raises(ConfigError):
        carbon_intensity("USA", use_codecarbon=False)
