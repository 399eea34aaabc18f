"""The experiments command: what the FLOP accounting counts, the parity ratio on known power laws,
the page rebuilt from a fixture results file, and both arms run end to end on a tiny budget."""

import json
from pathlib import Path

import pytest
import torch

from transfusion.autoencoder import autoencoder_config, load_autoencoder
from transfusion.config import preset
from transfusion.experiments import __main__ as cli
from transfusion.experiments.flops import compute_params, training_flops
from transfusion.experiments.plan import BUDGETS, SIZES, Budget, find, plan
from transfusion.experiments.report import PAPER_ABLATIONS, build_page, parity_ratio, read_results, shown_ratio
from transfusion.experiments.run import VAE, execute, planned_steps, train_argv
from transfusion.experiments.tune import candidates
from transfusion.model import Transfusion
from transfusion.pipeline import TransfusionPipeline
from transfusion.training.loop import LoopSettings, TrainLoop, make_accelerator


def test_n_is_every_parameter_but_the_token_embedding_and_c_is_6nd():
    model = Transfusion(preset("tiny"))
    everything = sum(p.numel() for p in model.parameters())
    assert compute_params(model) == everything - model.embed.weight.numel()
    assert training_flops(1000, 500) == 6 * 1000 * 500


def test_a_size_may_train_on_its_own_token_count(tokenizer):
    vae = autoencoder_config(load_autoencoder(VAE))
    plain = Budget(tokens=6000, batch_size=2, cases=1, perplexity_documents=3, vq_steps=2)
    fewer = Budget(tokens=6000, batch_size=2, cases=1, perplexity_documents=3, vq_steps=2, size_tokens={"L": 3000})
    for arm in ("transfusion", "chameleon"):
        run = find(f"compare-{arm}-L")
        _, _, flops = planned_steps(run, plain, tokenizer, vae, 256)
        _, _, less = planned_steps(run, fewer, tokenizer, vae, 256)
        assert less == flops / 2  # both arms of the pair are matched at the size's own budget
        _, _, same = planned_steps(find(f"compare-{arm}-S"), fewer, tokenizer, vae, 256)
        assert same == planned_steps(find(f"compare-{arm}-S"), plain, tokenizer, vae, 256)[2]
    assert BUDGETS["cpu"].tokens_for("L") < BUDGETS["cpu"].tokens_for("S")


def test_d_is_every_token_the_loss_function_reports(tmp_path):
    """The loop's `seen` (D) adds up what each micro-batch says it trained on, on every process."""
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    loop = TrainLoop(make_accelerator(), model, optimizer, scheduler,
                     LoopSettings(out=tmp_path, steps=3, grad_accum=2, log_every=1, save_every=0), unit="tokens")
    lengths = iter([5, 7, 11, 13, 17, 19])

    def loss_fn(step, micro):
        return model(torch.ones(1, 2)).sum(), {}, next(lengths)

    loop.run(loss_fn)
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["tokens_seen"] for r in rows] == [12, 36, 72] and loop.seen == 72


def test_parity_ratio_of_two_known_power_laws():
    flops = [1e2, 1e3, 1e4]
    transfusion = [(x, 10 * x**-0.5) for x in flops]
    chameleon = [(x, 40 * x**-0.5) for x in flops]
    # Chameleon reaches 0.4 at 1e4; Transfusion reaches 0.4 at 625: 6.25 % of the FLOPs
    assert parity_ratio(transfusion, chameleon) == pytest.approx(0.0625)
    assert parity_ratio(transfusion[:1], chameleon) is None  # one size is no fit
    assert parity_ratio([(x, 1.0) for x in flops], chameleon) is None  # no gain with compute


def test_a_parity_ratio_outside_the_runs_is_said_to_be_extrapolated():
    flops = [1e2, 1e3, 1e4]
    chameleon = [(x, 40 * x**-0.5) for x in flops]
    inside = [(x, 10 * x**-0.5) for x in flops]  # parity at 625 FLOPs, between its runs
    assert shown_ratio(parity_ratio(inside, chameleon), inside, chameleon) == "0.0625"
    far = [(x, 0.1 * x**-0.5) for x in flops]  # parity at 0.0625 FLOPs, far below its smallest run
    shown = shown_ratio(parity_ratio(far, chameleon), far, chameleon)
    assert shown.startswith("< 0.01 (Transfusion's smallest run")  # measured: 1e2 of Chameleon's 1e4 already does better
    assert shown.endswith("the fit, extrapolated, says 6.25e-06)")
    assert shown_ratio(None, far, chameleon).startswith("n/a")


def _tally(accuracy: float, total: int = 50) -> dict:
    correct = round(accuracy * total)
    return {"correct": correct, "total": total, "accuracy": correct / total, "low": 0.0, "high": 1.0}


def _fixture_line(name: str, arm: str, size: str, group: str, flops: float, accuracy: float, baseline: str = "") -> dict:
    """A made-up result line of the shape `run.execute` writes (for the report's test only)."""
    scores = {"text_to_image": {g: _tally(accuracy) for g in ("1 object", "2 objects", "3 objects", "held-out pairs")},
              "caption": {"exact": _tally(accuracy)}, "question": {"all": _tally(accuracy)}}
    return {"name": name, "arm": arm, "size": size, "group": group, "baseline": baseline, "budget": "cpu",
            "params": 1000, "tokens": int(flops / 6000), "flops": flops, "planned flops": flops, "perplexity": 1 + 1 / accuracy, "scores": scores}


def test_report_rebuilds_the_page_and_plots_from_the_results_alone(tmp_path):
    lines = []
    for k, size in enumerate(SIZES):
        lines.append(_fixture_line(f"compare-transfusion-{size}", "transfusion", size, "comparison", 10.0 ** (12 + k), 0.5 + 0.2 * k))
        lines.append(_fixture_line(f"compare-chameleon-{size}", "chameleon", size, "comparison", 10.0 ** (12 + k), 0.2 + 0.1 * k))
    for line in lines[1:]:  # the first line predates the measure
        line["scores"]["pixel error"] = {"mean squared": 0.1 / line["scores"]["caption"]["exact"]["accuracy"] / line["flops"] ** 0.05,
                                         "images": 4}
    lines[1] |= {"sampling": {"guidance": 1.5, "code_temperature": 0.4},
                 "sweep": [{"guidance": 3.0, "code_temperature": 1.0, "exact": 0.1},
                           {"guidance": 1.5, "code_temperature": 0.4, "exact": 0.25}]}
    lines.append(_fixture_line("ablate-base", "transfusion", "M", "baseline", 1e13, 0.6))
    lines.append(_fixture_line("ablate-causal-linear", "transfusion", "M", "attention", 1e13, 0.3, baseline="ablate-base"))
    lines.append(_fixture_line("ablate-causal-linear", "transfusion", "M", "attention", 1e13, 0.4, baseline="ablate-base"))
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(line) + "\n" for line in lines))
    page = build_page(results, tmp_path / "experiments.md")
    assert (tmp_path / "experiments.md").read_text() == page
    assert "| transfusion | L | 1,000 |" in page and "| chameleon | S | 1,000 |" in page
    assert "| guidance 1.5, code_temperature 0.4 (25 %) |" in page and "| library defaults (no sweep) |" in page
    assert "| text → image, 1 object | < 0.01 (" in page  # a parity ratio was fitted: its S run already beats L
    assert "FID 0.029" in page  # beside the paper's
    assert "| attention | ablate-causal-linear | ablate-base | 40.0 % (-20.0;" in page  # the latest line counts
    assert "| text → image, pixel error | < 0.1 (" in page  # fitted on the lines (from the M run, 1e13) that measured it
    assert " | – |" in page  # and shown as missing in the line that did not
    assert len(list((tmp_path / "experiments").glob("metric*.png"))) == 7
    assert "- attention: bidirectional attention inside an image beat causal" in page  # the paper's finding beside it
    assert "- lambda:" not in page  # only for the groups that have a row
    assert "](experiments/ablations.png)" in page and (tmp_path / "experiments" / "ablations.png").exists()
    assert len(read_results(results)) == 8


def test_every_run_has_a_unique_name_and_known_baseline():
    names = [r.name for r in plan()]
    assert len(names) == len(set(names))
    assert all(not r.baseline or r.baseline in names for r in plan())
    assert {r.arm for r in plan() if r.group == "comparison"} == {"transfusion", "chameleon"}
    with pytest.raises(ValueError, match="no run"):
        find("compare-everything")


def test_every_ablation_group_says_what_the_paper_found():
    groups = {r.group for r in plan()} - {"comparison", "baseline", "seed"}
    assert groups == set(PAPER_ABLATIONS)


def test_a_runs_seed_and_settings_reach_its_training_command():
    from transfusion.train import parse_args

    for name, seed in (("ablate-base", 0), ("ablate-base-seed1", 1)):
        run = find(name)
        args = parse_args(train_argv(run, TINY_BUDGET, VAE, Path("out"), 7, 0.0))
        assert args.seed == seed and args.steps == 7 and args.batch_size == TINY_BUDGET.batch_size
        assert args.model == run.config_overrides and args.mixture["chat"] == run.mixture["chat"]
    assert find("ablate-base-seed1").config_overrides == find("ablate-base").config_overrides


TINY_BUDGET = Budget(tokens=6000, batch_size=2, cases=1, perplexity_documents=3, vq_steps=2, read_back_scenes=2,
                     tune_cases=1)


def test_both_arms_run_end_to_end_on_a_tiny_budget(tmp_path, capsys):
    results = tmp_path / "results.jsonl"
    for name in ("compare-transfusion-S", "compare-chameleon-S"):
        line = execute(find(name), TINY_BUDGET, "tiny", tmp_path / "runs", results, stages=tmp_path / "stages")
        assert line["steps"] >= 1 and line["tokens"] > 0 and line["perplexity"] > 1
        assert 0 <= line["autoencoder read back"] <= 1
        assert line["device"] == "cpu"
        assert set(line["scores"]) >= {"text_to_image", "caption", "question"} and "edit" not in line["scores"]
        # graded at the settings its sweep chose, which its checkpoint now keeps as its own defaults
        assert [{k: v for k, v in t.items() if k != "exact"} for t in line["sweep"]] == candidates(name.endswith("chameleon-S"))
        kept = TransfusionPipeline.from_pretrained(tmp_path / "runs" / "tiny" / name / "model").defaults
        assert all(getattr(kept, k) == v for k, v in line["sampling"].items())
    rows = read_results(results)
    t, c = rows["compare-transfusion-S"], rows["compare-chameleon-S"]
    # matched compute: the same planned 6 N D, and fewer documents' worth of steps for 4x longer pictures
    assert t["planned flops"] == c["planned flops"] and c["steps"] < t["steps"]
    assert t["scores"]["pixel error"]["images"] == 4 and 0 <= t["scores"]["pixel error"]["mean squared"] <= 1
    # its seconds: its training's, as the training state counts them over every call, and its grading
    trained = json.loads((tmp_path / "runs" / "tiny" / "compare-transfusion-S" / "state" / "state.json").read_text())
    assert t["seconds"] >= round(trained["seconds"])
    # run again on its folder: graded again (a new line, the latest), not trained again
    regraded = execute(find("compare-transfusion-S"), TINY_BUDGET, "tiny", tmp_path / "runs", results, stages=tmp_path / "stages")
    assert regraded["regraded"] and regraded["seconds"] == t["seconds"] and regraded["steps"] == t["steps"]
    assert read_results(results)["compare-transfusion-S"] == regraded
    kept = tmp_path / "stages" / "experiments-vq-tiny"  # the tokenizer, kept for every later Chameleon run
    assert (kept / "config.json").exists()
    (tmp_path / "runs" / "tiny" / "vq").rename(tmp_path / "scratch-lost")  # runs/ is scratch: a new session has none
    again = execute(find("compare-chameleon-S"), TINY_BUDGET, "tiny", tmp_path / "runs2", results, stages=tmp_path / "stages")
    assert again["steps"] == c["steps"] and not (tmp_path / "runs2" / "tiny" / "vq").exists()
    cli.main(["report", "--results", str(results), "--page", str(tmp_path / "page.md")])
    assert "| chameleon | S |" in (tmp_path / "page.md").read_text()
    assert Path(tmp_path / "page.md").exists()
