# A device call that trains the emoji model (issue 17) for the CPU hours it would take: its stage 4,
# the shipped emoji model grown (`transfusion/grow.py`) to width 384, 12 heads and 10 layers, then
# stage 3's mixture and balance at 256 documents a step, bf16. Not yet run. Here, before the call:
#     python -m transfusion.emoji.prepare --out data/emoji && tar czf data/emoji.tgz -C data emoji
#     python -m benchmarks.gpu_wheels && mkdir -p .whl-train && cp .whl/diffusers-*.whl .whl-train/
#     echo /.whl-train/ >> .git/info/exclude
#     mv assets/model /tmp/      # and back after the call
# then run `bash benchmarks/gpu_run_emoji.sh` with carry [".whl-train", "data/emoji.tgz"]: what
# travels is then about 41 + 6 + 14 MB, under the call's 64 MiB (training needs no wheel but
# diffusers'; the repository with both models is 72 MB). Writes $OUT/train.log and the trained
# model (float16 weights, 9 MB shards, the folder `half`) as $OUT/model.tgz.* (under 16 MiB each).
set -u
TRAIN_MINUTES=${TRAIN_MINUTES:-8}
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl-train/*.whl || exit 1
export PYTHONPATH=/tmp/site:.
tar xzf data/emoji.tgz -C data || exit 1

GROW=${GROW-'{"dim": 384, "n_heads": 12, "n_layers": 10}'}
timeout $(( ${TRAIN_MINUTES%.*} * 60 + 120 )) python3 -m transfusion.train --config configs/emoji.json \
    --init-from assets/emoji --out /tmp/stage --steps 5000 --batch-size 256 --pack 512 --lr 5e-4 --warmup 50 \
    --seed 4 --balance-by emoji --ema-decay 0.995 --precision bf16 --time-limit "$TRAIN_MINUTES" --eval-cases 0 \
    --save-every 100000 --sample-every 100000 --log-every 20 ${GROW:+--model "$GROW"} \
    --mixture '{"text_to_image": 0.52, "image_to_text": 0.25, "question": 0.08, "edit": 0.07, "chat": 0.08}' \
    > "$OUT/train.log" 2>&1
echo "train exit $?"
source benchmarks/bring_back.sh
