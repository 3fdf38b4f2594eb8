"""Runs: the one recorder, the run lifecycle, and one module per measurement mode.

- :mod:`effbench.runs.recorder`: measurements become records (names, units, provenance written once);
- :mod:`effbench.runs.lifecycle`: create, running, record, finish or interrupt;
- :mod:`effbench.runs.latency`: what ``effbench run`` and :func:`effbench.benchmark` measure;
- :mod:`effbench.runs.tail`: tail quality (``effbench tail measure``, :func:`effbench.runs.tail.measure_tail`);
- :mod:`effbench.runs.energy`: a run's energy meters, idle baseline and grid carbon.

Modules are imported on use (``import effbench.runs.tail``), so importing this package is light.
"""
