"""Hypothesis strategies for the command-line inputs of pareto, misnomer, timeline and tail analyze.

Shared by tests/cli/test_fuzz_cli.py (a few hundred seeded cases in the suite) and
benchmarks/fuzz_cli.py (10,000 or more per command, counted). Each strategy draws the files'
text and the argument list; ``{dir}`` in the arguments is the folder the files are written to.
"""

from __future__ import annotations

from hypothesis import strategies as st

EDGE_NUMBERS = ["0", "-1", "1e-320", "5e-324", "1e308", "-1e308", "1e400", "1e-300", "inf", "-inf", "nan",
                "1,014.45", "12,34", "1e", "--3", "", "-", "n/a", "abc", "0x10", "١٢"]
plain = st.floats(min_value=1e-6, max_value=1e6).map(repr)
numbers = st.one_of(
    plain, plain, plain, plain, plain, plain,  # mostly well-formed, so that the analyses run too
    st.sampled_from(EDGE_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.integers(min_value=-10**30, max_value=10**30).map(str),
)
names = st.one_of(st.integers(0, 99).map(lambda i: f"m{i}"), st.integers(0, 99).map(lambda i: f"m{i}"),
                  st.sampled_from(["<b>x</b>", "m,1", "", " m1 ", "m1"]), st.text(min_size=0, max_size=6))
columns = ["a", "b", "c"]


def _cell(draw, messy: bool) -> str:
    return draw(numbers) if messy else draw(plain)


def _csv_text(draw, n_rows) -> str:
    messy = draw(st.sampled_from([False, False, True]))  # two tables in three are well-formed
    header = "id,a,b,c" if not messy else draw(st.sampled_from(
        ["id,a,b,c", "id,a,b", "id,a,a,b", "a,b,c", "id", "", "id;a;b", "\ufeffid,a,b,c"]))
    width = max(1, len(header.split(",")))
    lines = [header]
    for _ in range(n_rows):
        ragged = draw(st.sampled_from([0] * 8 + [-1, 1])) if messy else 0
        cells = [draw(names)] + [_cell(draw, messy) for _ in range(width - 1 + ragged)]
        lines.append(",".join(cell.replace("\n", " ") for cell in cells))
    return "\n".join(lines) + "\n"


def _objectives(draw, flag, least: int = 1) -> list[str]:
    """Mostly distinct, well-formed COLUMN:max|min options; now and then a broken one."""
    cols = draw(st.permutations(columns))[: draw(st.integers(least, 3))]
    out = []
    for col in cols:
        if draw(st.sampled_from([False] * 5 + [True])):
            col = draw(st.sampled_from(["id", "zz", "", "a"]))
        sense = draw(st.sampled_from(["max", "min"] * 5 + ["MAX", "up", ""]))
        out += [flag, f"{col}:{sense}" if sense else col]
    return out


@st.composite
def pareto_case(draw):
    files = {"t.csv": _csv_text(draw, draw(st.integers(0, 12)))}
    args = ["pareto", "--csv", "{dir}/t.csv", "--key", draw(st.sampled_from(["id"] * 6 + ["a", "missing"]))]
    args += _objectives(draw, "--objective")
    if draw(st.booleans()):
        args += ["--dea", "--dea-model", draw(st.sampled_from(["ccr", "bcc"])),
                 "--orientation", draw(st.sampled_from(["input", "output"]))]
    if draw(st.booleans()):
        args += ["--stochastic", "--draws", str(draw(st.integers(-2, 30))), "--seed", str(draw(st.integers(-10**20, 10**20))),
                 "--dea-draws", str(draw(st.integers(-1, 3)))]
        for _ in range(draw(st.integers(0, 2))):
            args += ["--uncertainty", f"{draw(st.sampled_from(columns + ['zz']))}="
                     f"{draw(st.sampled_from(['rel', 'abs', 'n', 'x']))}:{draw(numbers)}"]
    return files, args + _top_and_json(draw)


def _top_and_json(draw) -> list[str]:
    args = ["--top", str(draw(st.integers(-1, 5)))] if draw(st.booleans()) else []
    return args + (["--json", "{dir}/out.json", "--force"] if draw(st.booleans()) else [])


@st.composite
def misnomer_case(draw):
    files = {"t.csv": _csv_text(draw, draw(st.integers(0, 14)))}
    args = ["misnomer", "--csv", "{dir}/t.csv", "--key", draw(st.sampled_from(["id"] * 6 + ["a", "missing"]))]
    args += _objectives(draw, "--indicator", least=draw(st.sampled_from([2, 2, 2, 1])))
    for flag, good in (("--min-factor", st.floats(1.0, 10.0)), ("--min-other-factor", st.floats(1.0, 10.0)),
                       ("--confidence", st.floats(0.5, 0.999))):
        if draw(st.booleans()):
            args += [flag, draw(st.one_of(good.map(repr), good.map(repr), numbers)) or "1"]
    return files, args + _top_and_json(draw)


@st.composite
def tail_case(draw):
    corrupt = draw(st.sampled_from([False] * 3 + [True]))
    header = "round,instance,time_s,correct" if not corrupt else draw(st.sampled_from(
        ["round,instance,time_s,correct", "round,instance,time_s", "r,i,t,c", "round,instance,time_s,correct,extra", ""]))
    rows = [header]
    n_rounds, n_inst = draw(st.integers(0 if corrupt else 2, 6)), draw(st.integers(0 if corrupt else 1, 6))
    for r in range(n_rounds):
        for i in range(n_inst):
            rnd = draw(numbers) if corrupt and draw(st.booleans()) else str(r)
            inst = draw(numbers) if corrupt and draw(st.booleans()) else str(i)
            t = draw(numbers) if corrupt and draw(st.booleans()) else repr(draw(st.floats(1e-6, 1.0)))
            c = draw(st.sampled_from(["1", "0", "true", "false", "2", "", "x"])) if corrupt else draw(st.sampled_from(["1", "0"]))
            rows.append(",".join([rnd, inst, t, c]))
    files = {"times.csv": "\n".join(rows) + "\n"}
    args = ["tail", "analyze", "--times", "{dir}/times.csv"]
    for _ in range(draw(st.integers(0, 2))):
        args += ["--threshold", draw(st.one_of(plain, numbers)) or "0.1"]
    if draw(st.sampled_from([False, True])):  # check the prediction interval on rounds not fitted on
        args += ["--fit-rounds", str(draw(st.integers(-1, 7)))]
        if draw(st.booleans()):
            args += ["--predict-rounds", str(draw(st.integers(-1, 200)))]
    if draw(st.sampled_from([False, False, True])):
        args += ["--rule", draw(st.sampled_from(["js", "tail", "yang", "bogus"]))]
    for flag in ("--quantile", "--percentiles", "--grid", "--max-rounds", "--min-rounds", "--js-threshold", "--level"):
        if draw(st.sampled_from([False, False, False, True])):
            args += [flag, draw(st.one_of(numbers, st.sampled_from(["90,99", "50,abc", "0,100", "3"])))]
    if draw(st.booleans()):
        args += ["--json", "{dir}/out.json", "--force"]
    return files, args


@st.composite
def timeline_case(draw):
    files = {"t.csv": _csv_text(draw, draw(st.integers(0, 12)))}
    pick = st.sampled_from(columns * 4 + ["id", "zz", ""])
    if draw(st.sampled_from([True, True, True, False])):  # mostly a usable choice of columns, so that the fit runs
        args = ["timeline", "--csv", "{dir}/t.csv", "--year", "a", "--quality", "b", "--cost", "c"]
    else:
        args = ["timeline", "--csv", "{dir}/t.csv", "--year", draw(pick), "--quality", draw(pick)]
        for _ in range(draw(st.integers(0, 2))):
            args += ["--cost", draw(pick)]
    if draw(st.booleans()):
        args += ["--label", draw(st.sampled_from(["id", "id", "a", "zz"]))]
    if draw(st.sampled_from([False, False, True])):
        args += ["--confidence", draw(st.one_of(st.floats(0.5, 0.999).map(repr), numbers)) or "0.9"]
    if draw(st.sampled_from([False] * 5 + [True])):
        args += ["--plot", "{dir}/" + draw(st.sampled_from(["t.png", "t.svg", "t.pdf", "t"])), "--force"]
    if draw(st.booleans()):
        args += ["--json", draw(st.sampled_from(["{dir}/out.json", "-"])), "--force"]
    return files, args


CASES = {"pareto": pareto_case, "misnomer": misnomer_case, "timeline": timeline_case, "tail analyze": tail_case}
