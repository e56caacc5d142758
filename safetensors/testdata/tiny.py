"""Writes tiny.safetensors, the golden file of TestGolden, from the format's
description alone; with the safetensors package installed it also checks that
safetensors.torch.load_file reads it back.

Run: python3 tiny.py
"""
import json
import struct

header = json.dumps(
    {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [1, 3], "data_offsets": [8, 20]},
    },
    separators=(",", ":"),
).encode()
header += b" " * (-len(header) % 8)
data = struct.pack("<2f", 1, 2) + struct.pack("<3f", -0.5, 0, 3.25)
with open("tiny.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(header)) + header + data)

try:
    from safetensors.torch import load_file
except ImportError:
    pass
else:
    t = load_file("tiny.safetensors")
    assert t["a"].tolist() == [1, 2], t
    assert t["b"].tolist() == [[-0.5, 0, 3.25]], t
    print("load_file ok")
