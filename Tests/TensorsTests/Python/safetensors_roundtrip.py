"""Reads a safetensors file written by Swift with Python's `safetensors`, doubles each tensor,
adds one, and writes it back (with metadata) for Swift to read."""
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

src, dst = sys.argv[1], sys.argv[2]
tensors = {}
with safe_open(src, framework="np") as f:
    metadata = f.metadata() or {}
    for name in f.keys():
        t = f.get_tensor(name)
        assert t.dtype == np.float32, t.dtype
        tensors[name] = t * 2
tensors["extra"] = np.arange(6, dtype=np.float32).reshape(2, 3)
metadata["read_by"] = "python"
save_file(tensors, dst, metadata=metadata)
