"""Files for the tail-quality regression example of docs/tail-quality.md (measured figures there).

    python benchmarks/tail_regression_example.py FOLDER
    effbench tail measure FOLDER/reg.toml --batch-size 1 --no-store

writes into FOLDER: scikit-learn's diabetes data split 75/25 (seeded), a ridge regression and a
gradient-boosted forest fitted on the 75 % and saved with skops, val.npz (X, y: the 25 %), and
reg.toml, a regression suite file with ``tolerance = 50`` (the target's units: disease progression
after one year, standard deviation 77) and the metrics mae and rmse.
"""

import sys
from pathlib import Path

import numpy as np
import skops.io
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split

folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
folder.mkdir(parents=True, exist_ok=True)
X, y = load_diabetes(return_X_y=True)
X = X.astype(np.float32)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0)
np.savez(folder / "val.npz", X=X_val, y=y_val)
skops.io.dump(Ridge(alpha=0.1).fit(X_train, y_train), folder / "ridge.skops")
skops.io.dump(GradientBoostingRegressor(n_estimators=200, max_depth=3, random_state=0).fit(X_train, y_train),
              folder / "gbr.skops")
(folder / "reg.toml").write_text('name = "diabetes"\n\n[data]\npath = "val.npz"\ntask = "regression"\n'
                                 'metrics = ["mae", "rmse"]\ntolerance = 50\n\n'
                                 '[[candidates]]\nname = "ridge"\nmodel = "ridge.skops"\n\n'
                                 '[[candidates]]\nname = "gbr"\nmodel = "gbr.skops"\ntrust = true    # skops: the tree type is outside its trusted list; we wrote this file\n')
print(f"wrote {folder}/reg.toml, val.npz ({len(y_val)} instances), ridge.skops, gbr.skops")
