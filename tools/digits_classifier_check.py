#!/usr/bin/env python3
"""Classify generated digits with a scikit-learn classifier trained on the real digits.

    python3 tools/digits_classifier_check.py SAMPLES.h5 [--labels 0,0,...,9] [--min-accuracy 90]

SAMPLES.h5 holds /samples (N,1,16,16) in the model's [-1,1] pixel space (as written
by `dit sample` with checkpoints/digits-dit.safetensors).  The classifier (RBF SVM)
is fit on all 1797 sklearn digits with the training preprocessing
(v/8-1, 2x nearest upsample to 16x16).  Samples are clipped to [-1,1].

Expected labels, in order of precedence: --labels (comma list, one per sample);
a /labels, /classes or /y dataset in the file; otherwise N must be a multiple of 10
and the samples are taken to be N/10 of class 0, then N/10 of class 1, ... 9.

Prints "digits classifier: K/N correct (P %)" and exits 1 if P < --min-accuracy.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np


def real_digits_16():
    from sklearn.datasets import load_digits
    d = load_digits()
    x = d.images.astype(np.float32) / 8.0 - 1.0
    x = x.repeat(2, axis=1).repeat(2, axis=2)
    return x.reshape(len(x), -1), d.target.astype(np.int64)


def make_classifier():
    from sklearn.svm import SVC
    return SVC(C=10.0, gamma="scale")


def penultimate_features(real_x, real_y):
    """A feature map for a Frechet distance: the hidden layer (64 ReLU units) of an MLP
    classifier fit on the real digits; returns x -> relu(x W0 + b0), the input of its
    output layer, without the units that are zero on every real digit (their covariance
    would be singular).  (The SVM above has no penultimate layer, so the MLP stands in.)"""
    from sklearn.neural_network import MLPClassifier
    mlp = MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-3, max_iter=2000, random_state=0).fit(real_x, real_y)
    w, b = mlp.coefs_[0], mlp.intercepts_[0]
    alive = np.maximum(real_x @ w + b, 0.0).std(0) > 0
    w, b = w[:, alive], b[alive]
    return lambda x: np.maximum(np.clip(x, -1.0, 1.0) @ w + b, 0.0)


def frechet_distance(a, b):
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of Gaussians fit to rows of a, b (as FID)."""
    from scipy import linalg
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s_a @ s_b)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * covmean))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("samples", help="HDF5 file with /samples (N,1,16,16)")
    ap.add_argument("--labels", help="comma-separated expected class per sample")
    ap.add_argument("--dataset", default="/samples")
    ap.add_argument("--min-accuracy", type=float, default=90.0, help="percent")
    ap.add_argument("--verbose", action="store_true", help="print per-class results and held-out accuracy")
    ap.add_argument("--fd", action="store_true", help="also print the Frechet distance to the real digits (penultimate_features)")
    args = ap.parse_args()

    import h5py
    with h5py.File(args.samples, "r") as f:
        s = np.asarray(f[args.dataset][...], dtype=np.float32)
        stored = next((np.asarray(f[k][...]).astype(np.int64).ravel()
                       for k in ("labels", "classes", "y") if k in f), None)
    if s.ndim != 4 or s.shape[1:] != (1, 16, 16):
        print(f"expected {args.dataset} of shape (N,1,16,16), got {s.shape}")
        sys.exit(2)
    n = s.shape[0]
    if args.labels:
        labels = np.array([int(v) for v in args.labels.split(",")], dtype=np.int64)
    elif stored is not None:
        labels = stored
    elif n % 10 == 0:
        labels = np.repeat(np.arange(10), n // 10)
    else:
        print("cannot infer labels: pass --labels")
        sys.exit(2)
    if len(labels) != n:
        print(f"{len(labels)} labels for {n} samples")
        sys.exit(2)

    X, y = real_digits_16()
    if args.verbose:
        from sklearn.model_selection import train_test_split
        a, b, ya, yb = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
        print(f"classifier held-out accuracy on real digits: {100 * make_classifier().fit(a, ya).score(b, yb):.1f} %")
    clf = make_classifier().fit(X, y)
    pred = clf.predict(np.clip(s, -1.0, 1.0).reshape(n, -1))
    correct = int((pred == labels).sum())
    pct = 100.0 * correct / n
    if args.verbose:
        for c in range(10):
            m = labels == c
            if m.any():
                print(f"  class {c}: {int((pred[m] == c).sum())}/{int(m.sum())}  predicted {pred[m].tolist()}")
    print(f"digits classifier: {correct}/{n} correct ({pct:.1f} %)")
    if args.fd:
        f = penultimate_features(X, y)
        print(f"Frechet distance to the real digits (MLP penultimate features): "
              f"{frechet_distance(f(s.reshape(n, -1)), f(X)):.3f}")
    sys.exit(0 if pct >= args.min_accuracy else 1)


if __name__ == "__main__":
    main()
