"""The attention mask: causal, plus bidirectional inside each image (paper section 2.2)."""

import pytest
import torch
import torch.nn.functional as F

from transfusion.mask import allowed, block_mask, dense_mask

# text, BOI, image A (2 patches), EOI, text, BOI, image B (2 patches), EOI
IMAGE_IDS = [-1, -1, 0, 0, -1, -1, -1, 1, 1, -1]
# written out by hand: row = query, column = key, 1 = may attend
EXPECTED = """
1000000000
1100000000
1111000000
1111000000
1111100000
1111110000
1111111000
1111111110
1111111110
1111111111
"""


def hand_matrix(text: str) -> torch.Tensor:
    return torch.tensor([[c == "1" for c in line] for line in text.split()])


def test_mask_of_hand_built_sequence():
    doc = torch.zeros(1, 10, dtype=torch.long)
    img = torch.tensor([IMAGE_IDS])
    assert torch.equal(dense_mask(doc, img)[0, 0], hand_matrix(EXPECTED))


def test_packed_documents_do_not_see_each_other():
    # two documents of 4 tokens in one row; the second holds a 2-patch image
    doc = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1]])
    img = torch.tensor([[-1, -1, -1, -1, -1, 5, 5, -1]])
    expected = hand_matrix("""
        10000000
        11000000
        11100000
        11110000
        00001000
        00001110
        00001110
        00001111
    """)
    assert torch.equal(dense_mask(doc, img)[0, 0], expected)


def random_layout(B=2, T=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    doc = torch.zeros(B, T, dtype=torch.long)
    img = torch.full((B, T), -1)
    n = 0
    for b in range(B):
        pos, d = 0, 0
        while pos < T:
            size = int(torch.randint(8, 120, (1,), generator=g))
            doc[b, pos:pos + size] = d
            start = pos + int(torch.randint(1, 5, (1,), generator=g))
            if start + 16 < pos + size:
                img[b, start:start + 16] = n
                n += 1
            pos, d = pos + size, d + 1
    return doc, img


def test_flex_block_mask_equals_dense():
    pytest.importorskip("torch.nn.attention.flex_attention")
    from torch.nn.attention.flex_attention import create_mask

    doc, img = random_layout()
    dense = dense_mask(doc, img)
    flex_dense = create_mask(lambda b, h, q, kv: allowed(doc, img, b, q, kv), 2, 1, 300, 300, device="cpu")
    assert torch.equal(dense, flex_dense)
    # the BlockMask skips exactly the blocks that the dense mask leaves empty
    bm = block_mask(doc, img, block_size=32)
    padded = F.pad(dense, (0, 20, 0, 20))  # 300 -> 320, a whole number of blocks
    any_in_block = padded.unflatten(2, (10, 32)).unflatten(4, (10, 32)).any(dim=(3, 5))
    assert torch.equal(bm.to_dense().bool(), any_in_block)


def test_flex_attention_equals_sdpa():
    """The CUDA path (flex) and the CPU path (SDPA + dense mask) compute the same attention.
    Flex runs forward on the CPU in eager mode, slowly, which is enough to compare."""
    from torch.nn.attention.flex_attention import flex_attention

    doc, img = random_layout(T=128, seed=1)
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 2, 128, 16, generator=g) for _ in range(3))
    flex = flex_attention(q, k, v, block_mask=block_mask(doc, img, block_size=32))
    sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=dense_mask(doc, img))
    torch.testing.assert_close(flex, sdpa, atol=1e-5, rtol=1e-4)
