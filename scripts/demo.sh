#!/usr/bin/env bash
# Sets up .venv (scripts/setup.sh) and runs the main job: PPO on CartPole-v1 from the command
# line, with a progress bar; the run directory gets policy.pt, scores.csv, learning_curve.png.
# Extra arguments go to `turborl train` (e.g. --seed 3 or --total-timesteps 50000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh train
.venv/bin/turborl train ppo --env CartPole-v1 --total-timesteps 100000 --out runs/demo-ppo-cartpole \
  --num-envs 8 --num-steps 32 --minibatch-size 256 --update-epochs 20 --gamma 0.98 --gae-lambda 0.8 \
  --learning-rate 0.001 --anneal-clip true --eval-interval 10000 "$@"
