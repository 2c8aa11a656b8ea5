"""Speed settings measured on the project's CPU machine, used by training and evaluation.

XLA (`jit_compile=True`) against TensorFlow's default graph execution, for the `static`
ASNet, each pair timed in one process in interleaved rounds (medians; helpers of
`benchmarks/inference.py` and `benchmarks/train_step.py`). Machine: 2-core AMD EPYC,
tensorflow-cpu 2.21.0, keras 3.15.1, on a host shared with other jobs (load average 6–13
on 2 cores during the runs, so absolute times are inflated; the pairs are comparable).
Measured at 64 px: a 224-px pass was not possible on that loaded host in the time
available — re-measure at 224 with `--jit-compile on|off` on a quiet machine.

Keep the faster; re-measure after changing the model or the TensorFlow version.
"""

# predict / evaluate: model.compile(jit_compile=PREDICT_JIT_COMPILE) before predict.
# 64 px, 3 rounds: batch 1 0.483 s/image without XLA, 0.703 with; batch 10 0.506 vs
# 0.592 s/image. The first call also takes 2–5× longer to compile with XLA (31 vs 6 s).
PREDICT_JIT_COMPILE = False

# Training: model.compile(..., jit_compile=TRAIN_JIT_COMPILE) (compile_asnet passes it on).
# 64 px, batch 10, full loss, Adam, 3 rounds: 16.5 s/step without XLA, 22.5 s with; first
# step (tracing + compiling) 128 s without, 270 s with.
TRAIN_JIT_COMPILE = False
