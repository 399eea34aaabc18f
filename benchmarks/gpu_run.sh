# One lease of the GPU machine (device tool, about 10 minutes): the GPU check, then a training
# stage of the built-in model that would take the CPU hours. Run from the repository root there,
# with the wheels of `python -m benchmarks.gpu_wheels` carried as .whl/ and OUT set:
#     bash benchmarks/gpu_run.sh
# Writes $OUT/gpu_check.md and .json, $OUT/train.log, and the trained model as $OUT/model.tgz.*
# (split under 16 MiB). The tree that travels is limited to 64 MiB and the repository's files are
# 68 MiB: move assets/emoji out of the checkout for the call (`mv assets/emoji /tmp/`) and back
# after it. Measured on 2026-12-04: the check about 4 minutes at --eval-cases 10 (its int8
# evaluator did not finish inside 240 s), the machine's start about a minute.
set -u
CHECK_SECONDS=${CHECK_SECONDS:-330}
TRAIN_MINUTES=${TRAIN_MINUTES:-4.0}
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:.
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/nvidia-smi.txt" 2>&1

timeout "$CHECK_SECONDS" python3 -m benchmarks.gpu_check --report "$OUT/gpu_check.md" --eval-cases 10
echo "gpu_check exit $?"

# stage 16: stage 14's mixture and learning rate, eight times its batch (256 documents a step),
# bf16, an EMA of shorter memory for the fewer, larger steps; stopped by its time limit
timeout 300 python3 -m transfusion.train --init-from assets/model --vae assets/model/vae \
    --out /tmp/stage16 --steps 1000 --batch-size 256 --pack 512 --lr 6e-4 --warmup 50 --seed 15 \
    --ema-decay 0.995 --precision bf16 --time-limit "$TRAIN_MINUTES" --eval-cases 0 \
    --save-every 100000 --sample-every 100000 --log-every 20 \
    --mixture '{"text_to_image":0.05,"image_to_text":0.02,"question":0.05,"edit":0.21,"chat":0.12,"request":0.09,"natural_question":0.16,"natural_edit":0.12,"chitchat":0.07,"reason":0.11}' \
    > "$OUT/train.log" 2>&1
echo "train exit $?"
cp /tmp/stage16/log.jsonl "$OUT/train_log.jsonl" 2>/dev/null
tar czf - -C /tmp/stage16 model 2>/dev/null | split -b 15m - "$OUT/model.tgz."
ls -la "$OUT"
