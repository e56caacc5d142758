#!/usr/bin/python3
"""Write the Wisconsin breast-cancer data that Debian's python3-sklearn ships
as a CSV with named columns: an id, the 30 features and the diagnosis
(benign or malignant), the README's tabular example.

    /usr/bin/python3 scripts/breast_cancer.py breast_cancer.csv
"""
import sys

from sklearn.datasets import load_breast_cancer

frame = load_breast_cancer(as_frame=True).frame
frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
frame.insert(0, "id", range(1, len(frame) + 1))
frame.to_csv(sys.argv[1] if len(sys.argv) > 1 else "breast_cancer.csv", index=False)
