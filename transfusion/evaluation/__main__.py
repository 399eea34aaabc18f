"""`python -m transfusion.evaluation --model ...`: the evaluator's command line (see cli.py)."""

from .cli import main

if __name__ == "__main__":
    main(prog="python -m transfusion.evaluation")
