"""Every run of the paper's experiments in miniature, as data: `python -m transfusion.experiments list`.

The comparison (paper section 4.2): both arms at three sizes, on the same ShapesWorld stream of
one-picture documents (text -> image, image -> text, questions), each pair at one compute budget:
the Transfusion run trains on `tokens` tokens, the Chameleon run on as many as make the same
C = 6 N D (`flops.py`), so its 4x longer pictures mean fewer documents. The ablations (section 4.3
and beyond): Transfusion at the smallest size, one setting changed from a shared baseline, on a
stream that also holds chats (where a drawn image precedes the words it conditions: noise
limiting's case).

A budget says how much each run trains and how many cases grade it: "cpu" fits these 2-core
machines (each run under two hours: measured 13,000 tokens/s for S, about 3,000 for L, so L trains
on fewer tokens; the set about 12 hours), "gpu" is the same plan larger.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ARMS = ("transfusion", "chameleon")
SIZES: dict[str, dict] = {  # TransfusionConfig overrides of each size
    "S": dict(dim=128, n_layers=4, n_heads=4),
    "M": dict(dim=192, n_layers=6, n_heads=6),
    "L": dict(dim=256, n_layers=8, n_heads=8),
}
ABLATION_SIZE = "S"  # the ablations' size: 14 runs of it fit a few sessions of these CPUs
ONE_PICTURE = {"text_to_image": 0.5, "image_to_text": 0.25, "question": 0.25}
WITH_CHATS = {"text_to_image": 0.4, "image_to_text": 0.2, "question": 0.2, "chat": 0.2}
BASE_MODEL = {"objective": "flow", "patch_encoder": "linear", "patch_size": 2}  # the project's, and the ablations' baseline


@dataclass(frozen=True)
class Budget:
    tokens: int  # D of a Transfusion run (a Chameleon run: as many FLOPs)
    batch_size: int
    cases: int  # evaluator cases a group
    perplexity_documents: int  # held-out captioning documents the text perplexity is measured on
    vq_steps: int  # training steps of the discrete arm's tokenizer
    read_back_scenes: int = 1000  # renders whose reconstruction through the run's autoencoder is read back
    tune_cases: int = 20  # text -> image cases a group that choose a run's sampling settings (`tune.py`)
    size_tokens: dict = field(default_factory=dict)  # sizes whose D is not `tokens`

    def tokens_for(self, size: str) -> int:
        """D of a Transfusion run of `size` at this budget."""
        return self.size_tokens.get(size, self.tokens)


BUDGETS = {
    # 3M tokens (S in 4 minutes) drew nothing right (0 % on every drawing row, 0 % captions): too little to compare
    # L trains on 10M tokens: at about 3,000 tokens/s (Chameleon's longer pictures a third slower), 15M
    # would take a Chameleon L run past two hours here
    "cpu": Budget(tokens=15_000_000, batch_size=32, cases=50, perplexity_documents=200, vq_steps=3000,
                  size_tokens={"L": 10_000_000}),
    "gpu": Budget(tokens=150_000_000, batch_size=128, cases=100, perplexity_documents=1000, vq_steps=20000),
}


@dataclass(frozen=True)
class Run:
    name: str
    arm: str  # "transfusion" or "chameleon"
    size: str  # a key of SIZES
    group: str  # "comparison", or the ablation it belongs to ("attention", "patch", "noise limit", ...)
    model: dict = field(default_factory=dict)  # TransfusionConfig overrides beyond BASE_MODEL and the size
    mixture: dict = field(default_factory=lambda: dict(ONE_PICTURE))
    baseline: str = ""  # the run an ablation is read against
    seed: int = 0  # of data, initialisation and noise (train.py's --seed)

    @property
    def config_overrides(self) -> dict:
        return {**BASE_MODEL, **SIZES[self.size], **self.model}


def _ablation(name: str, group: str, baseline: str = "ablate-base", seed: int = 0, **model) -> Run:
    return Run(name, "transfusion", ABLATION_SIZE, group, model, dict(WITH_CHATS), baseline, seed)


def plan() -> list[Run]:
    """The runs, in the order `run all` takes them."""
    runs = [Run(f"compare-{arm}-{size}", arm, size, "comparison") for size in SIZES for arm in ARMS]
    runs += [
        _ablation("ablate-base", "baseline", baseline=""),
        # the baseline again on another seed: how far one run moves by chance alone, the yardstick of every row
        _ablation("ablate-base-seed1", "seed", seed=1),
        _ablation("ablate-causal-linear", "attention", image_attention="causal"),
        _ablation("ablate-unet", "attention", patch_encoder="unet"),
        _ablation("ablate-causal-unet", "attention", "ablate-unet", patch_encoder="unet", image_attention="causal"),
        # 1 x 1 patches: 258 tokens a picture, so a chat of three needs a longer context
        _ablation("ablate-patch1-linear", "patch size", patch_size=1, max_seq_len=1024),
        _ablation("ablate-patch4-linear", "patch size", patch_size=4),
        _ablation("ablate-patch1-unet", "patch size", "ablate-unet", patch_encoder="unet", patch_size=1, max_seq_len=1024),
        _ablation("ablate-patch4-unet", "patch size", "ablate-unet", patch_encoder="unet", patch_size=4),
        _ablation("ablate-no-noise-limit", "noise limit", noise_limit=999),
        _ablation("ablate-lambda1", "lambda", diffusion_weight=1.0),
        _ablation("ablate-lambda20", "lambda", diffusion_weight=20.0),
        _ablation("ablate-epsilon", "objective", objective="epsilon"),
        _ablation("ablate-v", "objective", objective="v_prediction"),
    ]
    return runs


def find(name: str) -> Run:
    by_name = {r.name: r for r in plan()}
    if name not in by_name:
        raise ValueError(f"no run {name!r}; `python -m transfusion.experiments list` shows them")
    return by_name[name]
