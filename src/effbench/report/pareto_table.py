"""The table ``effbench pareto`` prints, rendered from a :class:`~effbench.analysis.pareto_study.ParetoStudy`.

:func:`pareto_table` gives the title, header and cells (the shown rows only: dominators are
computed for them alone; each objective's values formatted by the unit its name carries, through
:mod:`effbench.numbers`); :func:`format_pareto_table` lays them out for the terminal's width
(:func:`effbench.report.text.render_table`: sections keyed by layer and key when the columns do not
fit; no cell cut); :func:`format_noise` lists the noise each column got in a stochastic study.
Pure: a study in, text out.
"""

from __future__ import annotations

from dataclasses import dataclass

from effbench.analysis.pareto_study import ParetoStudy
from effbench.numbers import fmt_named, fmt_number, mark_estimate, mark_random_weights
from effbench.report.text import render_table


@dataclass(frozen=True)
class TableView:
    title: str
    header: list[str]
    rows: list[list[str]]


def format_cell(value, name: str = "") -> str:
    """A cell: an objective's value by the unit its column ``name`` carries, other numbers plain."""
    if isinstance(value, str):
        return value
    return fmt_named(name, value) if name else fmt_number(value)


def _header(study: ParetoStudy) -> list[str]:
    header = ["layer", "key"] + study.names + ["dominated_by"]
    if study.hardware is not None:
        header += [f"front:{h}" for h in study.hardware.per_hardware] + ["every_hw", "some_hw"]
    if study.dea is not None:
        header.append(f"dea_{study.dea.model}_{study.dea.orientation}")
    if study.stochastic is not None:
        header += ["p_frontier", "layer_mean"]
        if study.stochastic.dea_mean is not None:
            header.append("dea_mean")
    return header


def _dominator_cell(study: ParetoStudy, count: int, sample) -> str:
    if not count:
        return ""
    return f"{count} ({study.keys[sample[0]]}{', ...' if count > 1 else ''})"


def _row(study: ParetoStudy, i: int, dominator_cell: str) -> list:
    row = [int(study.layer[i]), study.keys[i]] + [float(v) for v in study.values[i]] + [dominator_cell]
    hw = study.hardware
    if hw is not None:
        row += [bool(m[i]) for m in hw.per_hardware.values()] + [bool(hw.on_every[i]), bool(hw.on_some[i])]
    if study.dea is not None:
        row.append(float(study.dea.efficiency[i]))
    st = study.stochastic
    if st is not None:
        row += [float(st.p_frontier[i]), float(st.layer_mean[i])]
        if st.dea_mean is not None:
            row.append(float(st.dea_mean[i]))
    return row


def _title(study: ParetoStudy, shown: int) -> str:
    k = study.layers_ranked
    layers = (f"{study.n_layers} layers" if study.layers_complete
              else f"more than {k} layer{'' if k == 1 else 's'} (ranked here: the first {k})")
    title = (f"Pareto analysis of {len(study.keys)} models, {len(study.objectives)} objectives "
             f"({', '.join(str(o) for o in study.objectives)}): {study.n_frontier} on the frontier, "
             f"{layers}; showing {shown}")
    st = study.stochastic
    if st is not None:
        title += f"; stochastic: {st.draws} draws, seed {st.seed}"
        if st.dea_draws:
            title += f", DEA over {st.dea_draws} draws"
    return title


def pareto_table(study: ParetoStudy, top: int = 25, estimated=frozenset(), random_weights=frozenset()) -> TableView:
    """Title, header and formatted cells of the first ``top`` rows of the ranking (0: all); the
    (key, column) pairs in ``estimated`` carry the estimate mark ``~``, those in ``random_weights``
    (quality figures of models with random weights) the mark ``?``."""
    shown = study.ranking(top)
    doms = study.dominators(shown)
    header = _header(study)
    units = [h if h in study.names else "" for h in header]
    rows = [[mark_random_weights(mark_estimate(format_cell(v, u), (study.keys[int(i)], u) in estimated),
                                 (study.keys[int(i)], u) in random_weights)
             for v, u in zip(_row(study, int(i), _dominator_cell(study, int(c), s)), units)]
            for i, c, s in zip(shown, doms.count, doms.sample)]
    return TableView(_title(study, len(shown)), header, rows)


def format_pareto_table(study: ParetoStudy, top: int = 25, *, width: int | None = -1, style: str | None = None,
                        estimated=frozenset(), random_weights=frozenset()) -> str:
    """The table for the terminal (or a pipe): see :func:`effbench.report.text.render_table`."""
    view = pareto_table(study, top, estimated, random_weights)
    return render_table(view.title, view.header, view.rows, keys=2, width=width, style=style,
                        wrap=(view.header.index("dominated_by"),))


def format_noise(study: ParetoStudy) -> str:
    """``noise per column (--stochastic):`` and one line per column; empty without a stochastic study."""
    if study.stochastic is None:
        return ""
    words = study.noise_words or {}
    return "\n".join(["noise per column (--stochastic):"] + [f"  {n}: {words.get(n, 'exact')}" for n in study.names])
