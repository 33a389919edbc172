#!/usr/bin/python3
"""A model trained on real data, quantized to 2, 3 and 4 bits by Tessera.

Trains a small MLP classifier on scikit-learn's bundled digits data set
(8x8 images, 10 classes), then runs its two layers as tessera.mpmm with the
weights quantized by tessera.quantize, and reports test accuracy per width.

    PYTHONPATH=build/python /usr/bin/python3 examples/digits.py
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import tessera as ts


def tessera_model(clf, dtype, group):
    w1, w2 = clf.coefs_[0].T.astype(np.float32), clf.coefs_[1].T.astype(np.float32)
    b1, b2 = clf.intercepts_[0].astype(np.float32), clf.intercepts_[1].astype(np.float32)
    g = ts.Graph("digits")
    x = g.input("x", shape=("M", w1.shape[1]))
    h = g.relu(g.mpmm(x, ts.quantize(w1, dtype, group)) + b1)
    g.output(g.mpmm(h, ts.quantize(w2, dtype, group)) + b2)
    return ts.compile(g)


def main():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.3, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=600, random_state=0)
    clf.fit(x_train, y_train)
    print(f"digits: {len(x_train)} training and {len(x_test)} test images, "
          f"MLP 64-64-10 trained by scikit-learn")
    print(f"  f32 (scikit-learn):      accuracy {clf.score(x_test, y_test):.4f}")
    for bits in (4, 3, 2):
        fn = tessera_model(clf, f"u{bits}", 32)
        accuracy = np.mean(fn(x=x_test).argmax(axis=1) == y_test)
        print(f"  u{bits}, group 32 (Tessera): accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
