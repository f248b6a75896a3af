"""scikit-learn's small data sets (iris, wine, breast cancer, diabetes) with mlp's estimators in
f32 and bf16, seeds 0..9: mean and spread of the test score, as a markdown table (docs/PRECISION.md).
Run: scripts/python.sh, then .venv/bin/python bench/accuracy/precision_small.py"""
import numpy as np, warnings
from sklearn.datasets import load_iris, load_wine, load_breast_cancer, load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
import mlp
warnings.filterwarnings("ignore")
def run(name, loader, reg=False):
    X, y = loader(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    sc = StandardScaler().fit(Xtr); Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
    if reg:
        ym, ys = ytr.mean(), ytr.std(); ytr = (ytr - ym) / ys; yte = (yte - ym) / ys
    out = {}
    for p in ("f32", "bf16"):
        s = []
        for seed in range(10):
            Est = mlp.MLPRegressor if reg else mlp.MLPClassifier
            m = Est(hidden_layer_sizes=(100,), max_iter=500, random_state=seed, precision=p, threads=1)
            m.fit(Xtr, ytr); s.append(m.score(Xte, yte))
        out[p] = s
    f, b = np.array(out["f32"]), np.array(out["bf16"])
    print(f"| {name} | {f.mean():.4f} [{f.min():.4f}..{f.max():.4f}] | {b.mean():.4f} [{b.min():.4f}..{b.max():.4f}] | {b.mean()-f.mean():+.4f} |")
print("| data set (score, seeds 0..9) | f32 mean [min..max] | bf16 mean [min..max] | bf16 - f32 |")
print("|---|---|---|---|")
run("iris (accuracy)", load_iris); run("wine (accuracy)", load_wine)
run("breast cancer (accuracy)", load_breast_cancer); run("diabetes (R^2, standardised target)", load_diabetes, True)
