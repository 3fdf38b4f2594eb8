"""Loading what users bring: model files and references, data files, suite files.

- :mod:`effbench.sources.suite`: ``load_suite(path) -> SuiteSpec`` (TOML, or YAML with PyYAML);
- :mod:`effbench.sources.models`: ``load_model(ref) -> (model, provenance)`` for ONNX, torch.export,
  TorchScript, python factories, skops, trusted pickles and local Hugging Face folders;
- :mod:`effbench.sources.data`: ``load_data(spec) -> Dataset`` for npz/npy, CSV/Parquet and image
  folders; :func:`effbench.sources.signature.synthetic_inputs` for cost-only runs.

Heavy libraries (torch, onnxruntime, transformers, pandas, Pillow) are imported inside the functions
that need them.
"""
