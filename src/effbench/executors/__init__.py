"""Executors beside the local one (:mod:`effbench.executor`): :mod:`effbench.executors.ray` runs each
candidate's worker on a node of a Ray cluster (docs/fleet.md)."""
