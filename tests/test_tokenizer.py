from transfusion.tokenizer import SPECIAL_TOKENS, Tokenizer


def test_special_tokens_are_distinct(tokenizer):
    ids = [tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id, tokenizer.boi_id,
           tokenizer.eoi_id, tokenizer.user_id, tokenizer.assistant_id]
    assert len(set(ids)) == 7
    assert all(0 <= i < tokenizer.vocab_size for i in ids)


def test_any_text_round_trips_by_byte_fallback(tokenizer):
    for text in ["a large red circle in the top left corner", "Ünïcödé ✓ 🎨🖌️", "tab\tbell\x07 nul\x00", "  two  spaces "]:
        ids = tokenizer.encode(text)
        assert tokenizer.sp.unk_id() not in ids
        assert tokenizer.decode(ids) == text


def test_typed_markers_are_text_not_special_tokens(tokenizer):
    for marker in SPECIAL_TOKENS:
        ids = tokenizer.encode(f"draw {marker} now")
        specials = {tokenizer.boi_id, tokenizer.eoi_id, tokenizer.user_id, tokenizer.assistant_id}
        assert not specials & set(ids)


def test_save_and_load(tokenizer, tmp_path):
    tokenizer.save(tmp_path / "tokenizer.model")
    loaded = Tokenizer.load(tmp_path / "tokenizer.model")
    text = "a small blue square at the bottom"
    assert loaded.encode(text) == tokenizer.encode(text)
    assert loaded.boi_id == tokenizer.boi_id and loaded.vocab_size == tokenizer.vocab_size
