"""Evaluates a run against qrels with ranx and prints the metrics as JSON."""
import json
import sys

from ranx import Qrels, Run, evaluate

data = json.load(open(sys.argv[1]))
metrics = data["metrics"]
qrels = Qrels(data["qrels"])
run = Run(data["run"])
scores = evaluate(qrels, run, metrics, make_comparable=True)
print(json.dumps({m: float(scores[m]) for m in metrics}))
