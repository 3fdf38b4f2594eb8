"""Tasks: a data set with a fixed split and its quality metrics."""

from effbench.tasks.base import Task, quality_metrics

__all__ = ["Task", "quality_metrics"]
