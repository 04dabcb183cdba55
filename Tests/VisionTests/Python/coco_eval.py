"""Runs pycocotools' COCOeval (bbox) and prints the 12 stats and per-category AP as JSON."""
import contextlib
import io
import json
import sys

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

gt_path, dt_path = sys.argv[1], sys.argv[2]
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(gt_path)
    dt = gt.loadRes(dt_path)
    ev = COCOeval(gt, dt, "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
per_class = {}
for k, cat in enumerate(ev.params.catIds):
    p = ev.eval["precision"][:, :, k, 0, 2]
    kept = p[p > -1]
    per_class[str(cat)] = float(np.mean(kept)) if kept.size else -1.0
print(json.dumps({"stats": [float(x) for x in ev.stats], "per_class": per_class}))
