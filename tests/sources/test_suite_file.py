"""Suite files: the issue's shape parses; every bad field is one line naming it, what is allowed and what was given."""

import textwrap

import numpy as np
import pytest

from effbench.errors import ConfigError
from effbench.sources.suite import (
    EXAMPLE_SUITE,
    CandidateSpec,
    DataSpec,
    load_suite,
    parse_suite,
)


@pytest.fixture
def study(tmp_path):
    """A folder with the files EXAMPLE_SUITE names (their contents are not read by the parser)."""
    (tmp_path / "models").mkdir()
    np.savez(tmp_path / "val.npz", X=np.zeros((4, 3), dtype=np.float32), y=np.arange(4))
    (tmp_path / "models" / "resnet.onnx").write_bytes(b"onnx")
    (tmp_path / "models" / "forest.skops").write_bytes(b"skops")
    (tmp_path / "study.toml").write_text(EXAMPLE_SUITE)
    return tmp_path


def write(folder, text, name="s.toml"):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_the_example_suite_parses_into_the_dataclasses(study):
    spec = load_suite(study / "study.toml")
    assert spec.name == "my-study"
    assert spec.batch_sizes == (1, 8, "all") and spec.threads == 1 and spec.device == "cpu"
    assert spec.source == (study / "study.toml").resolve()
    assert spec.data == DataSpec(path=(study / "val.npz").resolve(), task="classification",
                                 metrics=("accuracy", "top5", "f1_macro"), format="npz")
    resnet, forest, tiny = spec.candidates
    assert resnet == CandidateSpec(name="resnet", model=str((study / "models/resnet.onnx").resolve()), kind="onnx")
    assert forest.kind == "skops" and forest.model.endswith("models/forest.skops") and not forest.trust
    assert tiny == CandidateSpec(name="tiny", model="python:mypkg.models:build", kind="python", args={"width": 32},
                                 backends=("torch", "onnxruntime"))
    d = spec.to_dict()
    assert d["candidates"][2]["backends"] == ["torch", "onnxruntime"] and d["data"]["path"].endswith("val.npz")
    assert spec.timeout_s is None and d["timeout_s"] is None
    with_timeout = EXAMPLE_SUITE.replace("# timeout_s = 120", "timeout_s = 120")
    assert load_suite(write(study, with_timeout, "study.toml")).timeout_s == 120.0


def test_yaml_reads_the_same_suite(study):
    yaml = pytest.importorskip("yaml", reason="PyYAML is the optional yaml extra")
    import tomllib

    raw = tomllib.loads(EXAMPLE_SUITE)
    path = study / "study.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert load_suite(path).candidates == load_suite(study / "study.toml").candidates
    path.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"study\.yaml: not valid YAML"):
        load_suite(path)


BASE = """
[[candidates]]
name = "resnet"
model = "models/resnet.onnx"
"""


@pytest.mark.parametrize("text,message", [
    ('batch_size = [1]\n' + BASE, r"^batch_size: unknown key; did you mean 'batch_sizes'\? \(allowed: name, batch_sizes,"),
    ('[data]\npath = "val.npz"\nmetric = ["accuracy"]\n' + BASE, r"^data\.metric: unknown key; did you mean 'metrics'\?"),
    (BASE + 'backend = ["torch"]\n', r"^candidates\[0\]\.backend: unknown key; did you mean 'backends'\?"),
    (BASE + 'zzz = 1\n', r"^candidates\[0\]\.zzz: unknown key \(allowed: name, model, args, backends, trust, weights, output, training\)$"),
    ('threads = 0\n' + BASE, r"^threads: expected a whole number >= 1, got 0$"),
    ('threads = true\n' + BASE, r"^threads: expected a whole number >= 1, got True$"),
    ('device = "gpu"\n' + BASE, r"^device: expected 'cpu', 'cuda' or 'cuda:N', got 'gpu'$"),
    ('batch_sizes = [1, 0]\n' + BASE, r"^batch_sizes\[1\]: expected a whole number >= 1 or one of 'all', got 0$"),
    ('batch_sizes = [8, 8]\n' + BASE, r"^batch_sizes\[1\]: 8 is listed twice$"),
    ('batch_sizes = []\n' + BASE, r"^batch_sizes: expected a non-empty list"),
    ('name = "x"\n', r"^candidates: expected a list of at least one \[\[candidates\]\] table, got None$"),
    ('[data]\npath = "val.npz"\nmetrics = ["accuracy", "rmse"]\n' + BASE,
     r"^data\.metrics\[1\]: 'rmse' is not a classification metric; allowed for classification: accuracy, f1_macro"),
    ('[data]\npath = "val.npz"\ntask = "ranking"\n' + BASE,
     r"^data\.task: expected one of 'classification', 'none', 'regression', got 'ranking'$"),
    ('[data]\npath = "val.npz"\ntask = "none"\nmetrics = ["accuracy"]\n' + BASE, r"^data\.metrics\[0\]: task 'none' measures cost only"),
    ('[data]\npath = "missing.npz"\n' + BASE, r"^data\.path: '.*missing\.npz' does not exist$"),
    ('[data]\ntask = "classification"\n' + BASE, r"^data\.path: task 'classification' needs labelled data"),
    ('[data]\npath = "val.npz"\ntarget = "label"\n' + BASE, r"^data\.target: applies to csv and parquet data only; the data is npz$"),
    ('[data]\ntask = "none"\ninput = "3xAx4"\n' + BASE, r"^data\.input: shape of the input: '3xAx4' must be whole numbers"),
    ('[data]\npath = "val.npz"\ninput = "3x4"\n' + BASE, r"^data\.input: synthetic inputs replace the data"),
    ('[[candidates]]\nname = "a"\n', r"^candidates\[0\]\.model: required, missing$"),
    ('[[candidates]]\nname = "a b"\nmodel = "models/resnet.onnx"\n', r"^candidates\[0\]\.name: 'a b' is not allowed: use letters"),
    (BASE + BASE, r"^candidates\[1\]\.name: 'resnet' is already the name of candidates\[0\]; names must be unique$"),
    ('[[candidates]]\nname = "a"\nmodel = "models/nothing.onnx"\n', r"^candidates\[0\]\.model: '.*models/nothing\.onnx' does not exist$"),
    ('[[candidates]]\nname = "a"\nmodel = "models/net.h5"\n', r"^candidates\[0\]\.model: cannot tell what kind of model 'models/net\.h5' is; expected a file ending in \.onnx, \.pt2"),
    ('[[candidates]]\nname = "a"\nmodel = "python:mypkg"\n', r"^candidates\[0\]\.model: a factory is python:package\.module:function, got 'python:mypkg'$"),
    (BASE + 'backends = ["torch", "tensorflow"]\n', r"^candidates\[0\]\.backends\[1\]: expected one of .*'onnxruntime'.*'torch', got 'tensorflow'$"),
    (BASE + 'args = { width = 3 }\n', r"^candidates\[0\]\.args: applies to python: factories and hf: models only; the model is a onnx file$"),
    (BASE + 'weights = "pretrained"\n', r"^candidates\[0\]\.weights: expected one of 'random' or None, got 'pretrained'$"),
    (BASE + 'trust = "yes"\n', r"^candidates\[0\]\.trust: expected true or false, got 'yes'$"),
    (BASE + 'trust = true\n', r"^candidates\[0\]\.trust: applies to pickle, joblib and skops files only; the model is onnx$"),
    (BASE + 'output = -1\n', r"^candidates\[0\]\.output: expected an output name or index \(a whole number >= 0\), got -1$"),
    ('[[candidates]]\nname = "a"\nmodel = "hf:models/none"\n', r"^candidates\[0\]\.model: '.*models/none' is not a folder"),
    ('timeout_s = 0\n' + BASE, r"^timeout_s: expected a number of seconds > 0 or None, got 0$"),
])
def test_bad_fields_are_one_line_naming_the_field(study, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_suite(write(study, text))
    assert "\n" not in str(info.value)


def test_pickles_need_trust_in_the_file_or_from_the_command_line(study):
    (study / "models" / "m.pkl").write_bytes(b"x")
    text = '[[candidates]]\nname = "p"\nmodel = "models/m.pkl"\n'
    with pytest.raises(ConfigError, match=r"^candidates\[0\]\.trust: 'm\.pkl' is a pickle file, which runs any code it "
                                          r"holds when loaded; set trust = true \(or --trust-pickle\)"):
        load_suite(write(study, text))
    assert load_suite(write(study, text + "trust = true\n")).candidates[0].trust is True
    assert load_suite(write(study, text), trust_pickle=True).candidates[0].trust is True
    (study / "models" / "m.skops").write_bytes(b"x")  # --trust-pickle also trusts skops types outside its list
    assert load_suite(write(study, text.replace("m.pkl", "m.skops")), trust_pickle=True).candidates[0].trust is True
    assert load_suite(write(study, text.replace("m.pkl", "m.skops"))).candidates[0].trust is False


def test_paths_resolve_against_the_suite_folder_not_the_working_directory(study, monkeypatch, tmp_path_factory):
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    sub = study / "suites"
    sub.mkdir()
    spec = load_suite(write(sub, '[data]\npath = "../val.npz"\n[[candidates]]\nname = "r"\nmodel = "../models/resnet.onnx"\n'))
    assert spec.data.path == (study / "val.npz").resolve()
    assert spec.candidates[0].model == str((study / "models" / "resnet.onnx").resolve())
    assert spec.name == "s"  # the file's stem when the suite has no name


def test_data_defaults_per_task_and_formats(study):
    (study / "t.csv").write_text("a,label\n1,0\n")
    (study / "imgs").mkdir()
    spec = load_suite(write(study, '[data]\npath = "t.csv"\ntask = "regression"\ntarget = "label"\n' + BASE))
    assert spec.data.format == "csv" and spec.data.metrics == ("rmse",) and spec.data.target == "label"
    spec = load_suite(write(study, '[data]\npath = "imgs"\nresize = 32\nmean = [0.5]\nstd = [0.25]\n' + BASE))
    assert spec.data.format == "images" and spec.data.resize == (32, 32) and spec.data.std == (0.25,)
    spec = load_suite(write(study, '[data]\ntask = "none"\ninput = "input_ids:int64:1x128"\n' + BASE))
    assert spec.data.metrics == () and spec.data.path is None and spec.data.input == "input_ids:int64:1x128"
    assert load_suite(write(study, BASE)).data is None  # no [data]: cost only, inputs from the model
    with pytest.raises(ConfigError, match=r"^data\.std\[0\]: expected a number > 0, got 0$"):
        load_suite(write(study, '[data]\npath = "imgs"\nstd = [0]\n' + BASE))
    with pytest.raises(ConfigError, match=r"^data\.target: a csv table needs the name of its label column"):
        load_suite(write(study, '[data]\npath = "t.csv"\n' + BASE))


def test_files_that_are_not_suites(study):
    with pytest.raises(ConfigError, match=r"^suite file '.*nope\.toml' does not exist$"):
        load_suite(study / "nope.toml")
    with pytest.raises(ConfigError, match=r"s\.toml: not valid TOML: .*line 1"):
        load_suite(write(study, "name = \n"))
    with pytest.raises(ConfigError, match=r"expected a \.toml file \(or \.yaml/\.yml\), got '\.json'"):
        load_suite(write(study, "{}", name="s.json"))
    with pytest.raises(ConfigError, match=r"^suite: expected a table of keys and values, got \[1\]$"):
        parse_suite([1])
