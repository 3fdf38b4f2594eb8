"""Data files (npz, npy, CSV, Parquet, image folders), matching them to a model's inputs, and synthetic inputs."""

from pathlib import Path

import numpy as np
import pytest

from effbench.errors import ConfigError, DataError
from effbench.sources.data import load_data, match_inputs
from effbench.sources.signature import (
    InputSpec,
    parse_input_spec,
    resolve_shapes,
    synthetic_inputs,
)
from effbench.sources.suite import DataSpec

RNG = np.random.default_rng(0)


def spec(path, **kw):
    return DataSpec(path=Path(path), **kw)


# -- npz / npy ------------------------------------------------------------------------------------

def test_npz_keeps_every_dtype_and_checks_the_labels(tmp_path):
    ids = RNG.integers(0, 1000, size=(5, 8)).astype(np.int64)
    mask = np.ones((5, 8), dtype=bool)
    np.savez(tmp_path / "d.npz", input_ids=ids, attention_mask=mask, y=np.array([0, 1, 2, 1, 0]))
    ds = load_data(spec(tmp_path / "d.npz", format="npz"))
    assert ds.inputs["input_ids"].dtype == np.int64 and ds.inputs["attention_mask"].dtype == bool
    np.testing.assert_array_equal(ds.inputs["input_ids"], ids)
    assert ds.y.tolist() == [0, 1, 2, 1, 0] and ds.n == 5 and set(ds.X) == {"input_ids", "attention_mask"}
    assert ds.source["inputs"] == {"input_ids": {"dtype": "int64", "shape": [8]},
                                   "attention_mask": {"dtype": "bool", "shape": [8]}}
    np.savez(tmp_path / "r.npz", X=RNG.random((4, 3)), target=np.array([0.5, 1.5, 2.0, 3.0]))
    ds = load_data(spec(tmp_path / "r.npz", format="npz", task="regression", labels="target"))
    assert ds.X.shape == (4, 3) and ds.X.dtype == np.float64 and ds.y.dtype == np.float64


@pytest.mark.parametrize("arrays,kw,message", [
    ({"X": np.zeros((3, 2)), "Y": np.zeros(3)}, {}, r"^data\.labels: d\.npz has no array 'y'; did you mean 'Y'\? \(arrays: X, Y\)"),
    ({"X": np.zeros((3, 2)), "y": np.array([0.0, 0.5, 1.0])}, {}, r"^data\.labels: classification needs class labels .* such as 0\.5"),
    ({"X": np.zeros((3, 2)), "y": np.array([0, 1])}, {}, r"^data\.labels: 2 labels for 3 examples; they must match$"),
    ({"X": np.zeros((3, 2)), "mask": np.zeros((4, 2)), "y": np.zeros(3)}, {}, r"different numbers of rows: X 3, mask 4$"),
    ({"X": np.array(["a", "b"]), "y": np.zeros(2)}, {}, r"array 'X' has dtype <U1; inputs must be numbers or bools$"),
    ({"y": np.zeros(2)}, {}, r"holds labels but no input arrays"),
    ({"X": np.zeros((2, 2)), "y": np.array(["a", "b"])}, {"task": "regression"}, r"^data\.labels: regression needs real-valued targets"),
])
def test_npz_that_does_not_fit(tmp_path, arrays, kw, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError, match=message) as info:
        load_data(spec(tmp_path / "d.npz", format="npz", **kw))
    assert "\n" not in str(info.value)


def test_npy_is_inputs_only_for_cost_runs(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(12, dtype=np.int32).reshape(4, 3))
    ds = load_data(spec(tmp_path / "x.npy", format="npy", task="none", metrics=()))
    assert ds.X.dtype == np.int32 and ds.y is None and ds.n == 4
    with pytest.raises(DataError, match=r"a \.npy file holds one array \(the inputs\) and no labels"):
        load_data(spec(tmp_path / "x.npy", format="npy"))
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(DataError, match=r"^data\.path: bad\.npz is not a readable \.npz file"):
        load_data(spec(tmp_path / "bad.npz", format="npz"))


# -- tables -------------------------------------------------------------------------------------

def _frame():
    import pandas as pd

    return pd.DataFrame({"age": [30, 41, 25, 60], "income": [1.5, 2.0, 0.5, 3.25], "city": ["a", "b", "a", "c"],
                         "label": [0, 1, 0, 1]})


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables_give_feature_columns_by_name_and_the_target(tmp_path, fmt):
    path = tmp_path / f"t.{fmt}"
    df = _frame()
    if fmt == "csv":
        df.to_csv(path, index=False)
    else:
        pytest.importorskip("pyarrow", reason="Parquet needs pyarrow (the parquet extra)")
        df.to_parquet(path)
    ds = load_data(spec(path, format=fmt, target="label", features=("income", "age")))
    np.testing.assert_array_equal(ds.X, np.array([[1.5, 30], [2.0, 41], [0.5, 25], [3.25, 60]]))
    assert ds.y.tolist() == [0, 1, 0, 1] and ds.source["features"] == ["income", "age"]
    with pytest.raises(DataError, match=r"^data\.features: column 'city' of t\.\w+ holds (object|str|string) values"):
        load_data(spec(path, format=fmt, target="label"))  # every other column, city included
    with pytest.raises(DataError, match=r"^data\.target: t\.\w+ has no column 'lable'; did you mean 'label'\? \(columns: age, income, city, label\)$"):
        load_data(spec(path, format=fmt, target="lable"))
    with pytest.raises(DataError, match=r"^data\.features\[1\]: t\.\w+ has no column 'agee'; did you mean 'age'\?"):
        load_data(spec(path, format=fmt, target="label", features=("income", "agee")))


def test_tables_with_gaps_or_labels_of_another_task(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,label\n1,2,0.5\n3,,1.5\n")
    with pytest.raises(DataError, match=r"^data\.features: column 'b' of t\.csv has 1 missing value\(s\)$"):
        load_data(spec(tmp_path / "t.csv", format="csv", target="label", task="regression"))
    ds = load_data(spec(tmp_path / "t.csv", format="csv", target="label", features=("a",), task="regression"))
    assert ds.y.tolist() == [0.5, 1.5] and ds.X.dtype == np.int64
    with pytest.raises(DataError, match=r"^data\.target: classification needs class labels"):
        load_data(spec(tmp_path / "t.csv", format="csv", target="label", features=("a",)))
    (tmp_path / "s.csv").write_text("a,label\n1,cat\n2,dog\n")
    assert load_data(spec(tmp_path / "s.csv", format="csv", target="label")).y.tolist() == ["cat", "dog"]


# -- image folders ----------------------------------------------------------------------------------

def _image_folder(tmp_path, sizes=((6, 4), (6, 4), (6, 4))):
    from PIL import Image

    root = tmp_path / "imgs"
    pixels = []
    for i, (cls, size) in enumerate(zip(["cat", "dog", "dog"], sizes)):
        (root / cls).mkdir(parents=True, exist_ok=True)
        a = RNG.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(a).save(root / cls / f"{i}.png")
        pixels.append(a)
    (root / "dog" / "notes.txt").write_text("not an image")
    return root, pixels


def test_image_folders_one_subfolder_per_class_normalised_as_declared(tmp_path):
    root, pixels = _image_folder(tmp_path)
    ds = load_data(spec(root, format="images", mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0)))
    assert ds.X.shape == (3, 3, 4, 6) and ds.X.dtype == np.float32  # NCHW
    assert ds.y.tolist() == [0, 1, 1] and ds.source["classes"] == ["cat", "dog"]
    expected = (pixels[1].transpose(2, 0, 1) / 255.0 - 0.5) / np.array([0.25, 0.5, 1.0]).reshape(3, 1, 1)
    np.testing.assert_allclose(ds.X[1], expected, rtol=1e-5)
    small = load_data(spec(root, format="images", resize=(2, 3), mean=(0.0,), std=(1.0,)))
    assert small.X.shape == (3, 1, 2, 3) and small.source["mode"] == "L"


def test_image_folders_of_mixed_sizes_need_resize(tmp_path):
    root, _ = _image_folder(tmp_path, sizes=((6, 4), (5, 5), (6, 4)))
    with pytest.raises(DataError, match=r"^data\.resize: dog/1\.png is 5x5 but cat/0\.png is 6x4; set resize = \[height, width\]$"):
        load_data(spec(root, format="images"))
    assert load_data(spec(root, format="images", resize=(8, 8))).X.shape == (3, 3, 8, 8)
    (root / "cat" / "broken.png").write_bytes(b"not png")
    with pytest.raises(DataError, match=r"^data\.path: cat/broken\.png is not a readable image"):
        load_data(spec(root, format="images", resize=(8, 8)))
    with pytest.raises(DataError, match=r"has no subfolders; an image folder has one subfolder per class"):
        load_data(spec(root / "cat", format="images"))


# -- matching data to a model's inputs ------------------------------------------------------------

BERT = (InputSpec("input_ids", "int64", (None, None)), InputSpec("attention_mask", "int64", (None, None)))


def test_data_is_matched_to_the_model_inputs_by_name_and_integers_stay_integers():
    data = {"attention_mask": np.ones((2, 4), dtype=bool), "input_ids": np.arange(8, dtype=np.int32).reshape(2, 4)}
    out = match_inputs(data, BERT)
    assert list(out) == ["input_ids", "attention_mask"]
    assert out["input_ids"].dtype == np.int64 and out["attention_mask"].dtype == np.int64
    one = match_inputs({"X": np.zeros((2, 4), dtype=np.float64)}, (InputSpec("input", "float32", (None, 4)),))
    assert one.dtype == np.float32 and one.shape == (2, 4)
    assert match_inputs({"X": np.zeros((2, 4), dtype=np.int64)}, None).dtype == np.int64  # no signature: as is


@pytest.mark.parametrize("data,signature,message", [
    ({"input_ids": np.zeros((2, 4))}, BERT, r"^data: array 'input_ids'|the model's input 'attention_mask' has no array in the data \(arrays: input_ids\)"),
    ({"input_ids": np.zeros((2, 4), dtype=np.float32), "attention_mask": np.ones((2, 4), dtype=np.int64)}, BERT,
     r"^data: input 'input_ids': the model takes int64, the data holds float32; ids and indices must be integers$"),
    ({"input_ids": np.zeros((2, 4), np.int64), "attention_mask": np.ones((2, 4), np.int64), "extra": np.zeros(2)}, BERT,
     r"^data: array 'extra' is not an input of the model \(its inputs: input_ids, attention_mask\)$"),
    ({"X": np.zeros((2, 5), np.float32)}, (InputSpec("input", "float32", (None, 4)),),
     r"^data: input 'input' \(array 'X'\): dimension 1 is 5 in the data but 4 in the model \(\?, 4\)$"),
    ({"X": np.zeros((2, 3, 8, 8), np.float32)}, (InputSpec("input", "float32", (None, 3 * 64)),),
     r"^data: input 'input' \(array 'X'\): the model takes 2 dimensions \(\?, 192\), the data has 4 \(\?, 3, 8, 8\)$"),
])
def test_data_that_does_not_match_the_model_names_the_input(data, signature, message):
    with pytest.raises(DataError, match=message):
        match_inputs(data, signature)


# -- synthetic inputs -------------------------------------------------------------------------------

def test_input_specs_parse():
    assert parse_input_spec("3x224x224") == (InputSpec(None, "float32", (3, 224, 224)),)
    assert parse_input_spec("input_ids:int64:1x128,attention_mask:int64:1x128") == (
        InputSpec("input_ids", "int64", (1, 128)), InputSpec("attention_mask", "int64", (1, 128)))
    assert parse_input_spec("x:Nx16") == (InputSpec("x", "float32", (None, 16)),)


@pytest.mark.parametrize("text,message", [
    ("3x0x2", r"^input: shape of the input: '3x0x2' must be whole numbers >= 1"),
    ("a:complex:3", r"^input: dtype of a: expected one of float32, .*bool, got 'complex'$"),
    ("3x4,5", r"^input: several inputs must each be named"),
    ("a:3,a:4", r"^input: an input is named twice"),
    ("a:b:c:d", r"is not SHAPE, NAME:SHAPE or NAME:DTYPE:SHAPE"),
    ("NxN", r"at most one batch marker N"),
    ("", r"^input: expected a shape such as 3x224x224"),
])
def test_bad_input_specs(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_input_spec(text)


def test_the_batch_dimension_comes_from_the_spec_or_the_signature():
    image = (InputSpec("input", "float32", (None, 3, 8, 8)),)
    assert resolve_shapes(parse_input_spec("3x8x8"), image) == (InputSpec(None, "float32", (None, 3, 8, 8)),)
    assert resolve_shapes(parse_input_spec("3x8x8")) == (InputSpec(None, "float32", (None, 3, 8, 8)),)  # no signature
    bert = resolve_shapes(parse_input_spec("input_ids:int64:1x16,attention_mask:int64:1x16"), BERT)
    assert [s.shape for s in bert] == [(None, 16), (None, 16)]  # as many dimensions as the model: the first is the batch
    assert resolve_shapes(None, image) == image  # from the signature: its dynamic first dimension is the batch
    with pytest.raises(ConfigError, match=r"^input: input 'input_ids' has dynamic dimension\(s\) \[1\] besides the batch "
                                          r"\(shape \(\?, \?\)\); give its shape, e.g\. input_ids:int64:Nx128$"):
        resolve_shapes(None, BERT)
    with pytest.raises(ConfigError, match=r"^input: the model has no input 'ids'; its inputs: input_ids, attention_mask$"):
        resolve_shapes(parse_input_spec("ids:int64:1x16"), BERT)
    with pytest.raises(ConfigError, match=r"the model also needs input\(s\) 'attention_mask'"):
        resolve_shapes(parse_input_spec("input_ids:int64:1x16"), BERT)
    with pytest.raises(ConfigError, match=r"not known from its file; give a shape"):
        resolve_shapes(None, None)


def test_synthetic_inputs_have_the_batch_size_and_dtypes():
    x = synthetic_inputs(resolve_shapes(parse_input_spec("3x8x8")), 4)
    assert x.shape == (4, 3, 8, 8) and x.dtype == np.float32
    np.testing.assert_array_equal(x, synthetic_inputs(resolve_shapes(parse_input_spec("3x8x8")), 4))  # seeded
    d = synthetic_inputs(resolve_shapes(parse_input_spec("input_ids:int64:1x16,attention_mask:int64:1x16"), BERT), 2)
    assert d["input_ids"].shape == (2, 16) and d["input_ids"].dtype == np.int64
    assert set(np.unique(d["input_ids"])) <= {0, 1} and (d["attention_mask"] == 1).all()


def test_synthetic_datasets_from_a_spec_or_a_model_signature():
    from effbench.sources.data import synthetic_dataset

    image = (InputSpec("input", "float32", (None, 3, 8, 8)),)
    ds = synthetic_dataset(None, image, 5)
    assert ds.task == "none" and ds.y is None and ds.n == 5 and ds.X.shape == (5, 3, 8, 8)
    assert ds.model_inputs(image).shape == (5, 3, 8, 8)
    assert ds.source["format"] == "synthetic" and ds.source["inputs"] == {"input": {"dtype": "float32", "shape": [3, 8, 8]}}
    tokens = synthetic_dataset("input_ids:int64:1x16,attention_mask:int64:1x16", BERT, 3)
    out = tokens.model_inputs(BERT)
    assert out["input_ids"].shape == (3, 16) and out["input_ids"].dtype == np.int64
    with pytest.raises(ConfigError, match=r"^input: input 'input_ids' has dynamic dimension"):
        synthetic_dataset(None, BERT, 3)
