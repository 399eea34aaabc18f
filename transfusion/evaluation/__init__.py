"""Evaluation on ShapesWorld: fixed case sets, scoring by the analyser, one Markdown table.

`evaluate(model, cases, seed)` runs any object with the pipeline's API and returns a dict;
`format_table(results)` prints it. `python -m transfusion.evaluation` is the command line
(cli.py); `python -m transfusion.evaluation.vae` grades the autoencoder alone (vae.py).
"""

from .cases import CaseSet, build_cases
from .harness import evaluate
from .reference_models import OracleModel, RandomModel
from .table import format_table

__all__ = ["CaseSet", "OracleModel", "RandomModel", "build_cases", "evaluate", "format_table"]
