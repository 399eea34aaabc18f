import pytest
import torch
from conftest import latent

from transfusion.batch import collate
from transfusion.checkpoint import Checkpoint
from transfusion.documents import encode_document
from transfusion.mask import attention_mask
from transfusion.vae import decode, encode


def outputs(ckpt, config, tokenizer):
    doc = [{"role": "user", "content": [latent(config, 0), "make it blue"]}, {"role": "assistant", "content": [latent(config, 1)]}]
    b = collate([encode_document(doc, tokenizer, config)], tokenizer.pad_id)
    t = torch.tensor([0.0, 700.0])
    with torch.no_grad():
        logits, pred = ckpt.model(b.tokens, b.positions, attention_mask(b.doc_ids, b.image_ids), b.latents, t, b.patch_index)
        image = decode(ckpt.vae, encode(ckpt.vae, torch.rand(1, 3, 64, 64) * 2 - 1))
    return logits, pred, image


def test_save_load_gives_identical_outputs(tiny_checkpoint, tiny_config, tokenizer, tmp_path):
    torch.nn.init.normal_(tiny_checkpoint.model.patch_out.proj.weight)  # make the zero-initialised head matter
    tiny_checkpoint.save_pretrained(tmp_path / "ckpt")
    names = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert names == ["config.json", "model.safetensors", "tokenizer.model", "vae"]
    assert not list((tmp_path / "ckpt").rglob("*.bin")) and not list((tmp_path / "ckpt").rglob("*.pt"))
    loaded = Checkpoint.from_pretrained(tmp_path / "ckpt")
    assert loaded.config == tiny_config
    torch.manual_seed(0)
    before = outputs(tiny_checkpoint, tiny_config, tokenizer)
    torch.manual_seed(0)
    after = outputs(loaded, tiny_config, tokenizer)
    for a, b in zip(before, after):
        assert torch.equal(a, b)


def test_loading_a_folder_that_is_not_a_checkpoint_says_what_is_missing(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        Checkpoint.from_pretrained(tmp_path)


class _Trap:
    """Unpickling this touches a file: proof that a pickle was loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_pickled_weights_are_never_loaded(tiny_checkpoint, tmp_path):
    import pickle
    import shutil

    tiny_checkpoint.save_pretrained(tmp_path / "ckpt")
    marker = tmp_path / "unpickled"
    bomb = pickle.dumps(_Trap(marker))
    # the transformer's weights as a pickle only
    (tmp_path / "ckpt" / "model.safetensors").unlink()
    for name in ("pytorch_model.bin", "model.pt", "model.ckpt"):
        (tmp_path / "ckpt" / name).write_bytes(bomb)
    with pytest.raises(FileNotFoundError, match="missing model.safetensors"):
        Checkpoint.from_pretrained(tmp_path / "ckpt")
    # the autoencoder's weights as a pickle only
    tiny_checkpoint.save_pretrained(tmp_path / "ckpt2")
    vae = tmp_path / "ckpt2" / "vae"
    for f in vae.glob("*.safetensors"):
        f.unlink()
    (vae / "diffusion_pytorch_model.bin").write_bytes(bomb)
    with pytest.raises(Exception, match="safetensors|diffusion_pytorch_model"):
        Checkpoint.from_pretrained(tmp_path / "ckpt2")
    assert not marker.exists()
    shutil.rmtree(tmp_path / "ckpt2")


def test_sharded_weights_load_to_the_same_model(tiny_checkpoint, tiny_config, tokenizer, tmp_path):
    torch.nn.init.normal_(tiny_checkpoint.model.patch_out.proj.weight)
    tiny_checkpoint.save_pretrained(tmp_path / "one")
    tiny_checkpoint.save_pretrained(tmp_path / "shards", max_shard_mb=0.1)
    shards = sorted((tmp_path / "shards").glob("model-*-of-*.safetensors"))
    assert len(shards) > 2 and not (tmp_path / "shards" / "model.safetensors").exists()
    largest = max(t.numel() * t.element_size() for t in tiny_checkpoint.model.state_dict().values())
    assert all(f.stat().st_size <= max(100_000, largest) + 10_000 for f in shards)  # + the file header
    one, sharded = Checkpoint.from_pretrained(tmp_path / "one"), Checkpoint.from_pretrained(tmp_path / "shards")
    for (n, a), (m, b) in zip(one.model.state_dict().items(), sharded.model.state_dict().items()):
        assert n == m and torch.equal(a, b)
    tiny_checkpoint.save_pretrained(tmp_path / "shards")  # saving again in one file removes the shards
    assert not list((tmp_path / "shards").glob("model-*")) and (tmp_path / "shards" / "model.safetensors").exists()


def test_a_shard_index_cannot_point_outside_its_folder(tiny_checkpoint, tmp_path):
    import json

    tiny_checkpoint.save_pretrained(tmp_path / "ckpt", max_shard_mb=0.1)
    index = tmp_path / "ckpt" / "model.safetensors.index.json"
    data = json.loads(index.read_text())
    first = next(iter(data["weight_map"]))
    data["weight_map"][first] = "../elsewhere.safetensors"
    index.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="plain file names"):
        Checkpoint.from_pretrained(tmp_path / "ckpt")
