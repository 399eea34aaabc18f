# Sourced by the lease scripts after their training stage: the stage's log and its model come back
# under $OUT. Float16 weights, since an 18M-parameter model is 73 MB in float32, more than a call
# brings back (64 MiB); the archive is split under the 16 MiB a file may be.
cp /tmp/stage/log.jsonl "$OUT/train_log.jsonl" 2>/dev/null
python3 -m transfusion.reshard /tmp/stage/model /tmp/stage/half --dtype float16 --max-shard-mb 9 > /dev/null
tar czf - -C /tmp/stage half 2>/dev/null | split -b 15m - "$OUT/model.tgz."
ls -la "$OUT"
