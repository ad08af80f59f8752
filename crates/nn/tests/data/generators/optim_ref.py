#!/usr/bin/env python3
"""Reference trajectories for the RMSprop / Adam semantics the Rust optimizers implement.

Writes, under ``tests/data/optim/`` (relative to the dqn-nn crate, ``crates/nn``):

* ``inputs.csv``  -- 32 parameters, 300 steps. Header ``row,p0,...,p31``. Row 0 holds the
  initial parameters; row ``t`` (1..300) holds the loss gradient fed at step ``t``.
* ``<case>.csv``  -- one file per case, header ``step,p0,...,p31``: the parameters after
  steps 1,2,3,4,5,10,20,...,300.
* ``cases.json``  -- every case with its semantics name, hyper-parameters, source and the
  list of recorded steps, plus a description of ``inputs.csv``.

Every number is a float32 written with the shortest decimal string that round-trips to
the same float32 (``str(np.float32(x))``, numpy >= 1.14); the script asserts the
round-trip.  Run it with the parity venv (torch 2.15.0, numpy 1.26.4, CPU)::

    OMP_NUM_THREADS=1 /tmp/parity-venv/bin/python crates/nn/tests/data/generators/optim_ref.py

It is deterministic: running it twice produces byte-identical files.

Sources
-------
PyTorch cases: ``torch.optim.RMSprop`` / ``torch.optim.Adam`` of the installed torch
(2.15.0, CPU, float32, ``foreach=False`` -> ``_single_tensor_rmsprop`` /
``_single_tensor_adam``), gradients fed by assigning ``p.grad`` each step.

DeZero cases: the chapter's own optimizer, ``dezero.optimizers.Adam`` of dezero 0.0.13 (pure
NumPy, float32 parameters), run as installed from PyPI (``np.int`` is restored for its import,
which NumPy 1.24 removed).

TF1 cases: float32 NumPy transcription of the dense CPU kernels ``ApplyRMSProp`` and
``ApplyCenteredRMSProp`` in tensorflow/tensorflow ``tensorflow/core/kernels/training_ops.cc``
(read at commit 008130e951d59f5ed8cea7238848cd9cf50f0661), in their order of operations:
``ms += (g^2 - ms)(1 - rho)``; centered: ``mg += (g - mg)(1 - rho)``,
``denom = (ms - mg^2) + eps``, else ``denom = ms + eps``; ``mom = mom*momentum +
(g*lr)/sqrt(denom)``; ``var -= mom``.  The slots, from ``RMSPropOptimizer._create_slots`` in
``tensorflow/python/training/rmsprop.py`` (commit 0304934138cbfabd338ec432a630a9c3c1191564):
``rms`` starts at ones, ``mg`` and ``momentum`` at zeros.  ``_apply_dense`` casts lr, decay,
momentum and epsilon to the variable's dtype, so every scalar here is an np.float32 and
``1 - rho`` is computed in float32.  TF1's defaults: decay 0.9, momentum 0, epsilon 1e-10.

Nature-DQN cases: float32 NumPy transcription of the RMSprop in ``nql:qLearnMinibatch``,
deepmind/dqn ``dqn/NeuralQLearner.lua`` (commit 9d9b1d13a2b491d6ebd4d046740c511c662bbe0f),
lines 266-277, with its state created as zeros (lines 145-149); the inline comments of
``run_nature`` name each call it transcribes.  ``dw`` there is the gradient of the TD
objective (backward is fed the clipped TD error, line 254), i.e. minus the loss gradient,
and the weights move by ``+deltas``; here ``dw = -grad`` for the recorded loss gradient.
Torch7 semantics, from torch/torch7 (commit 814ea4afd6beb110705d2456de03876841fcf1fd):
``TensorMath.lua`` lines 280-289 map ``t:add(value)`` to ``THTensor_(add)`` and
``t:add([value,] src)`` to ``THTensor_(cadd)``; in ``lib/TH/generic/THTensorMath.c``, add
(630) adds a scalar, mul (645) multiplies by one, cadd (877) computes ``t + value*src``
(through BLAS axpy when in place, ``lib/TH/generic/THBlas.c`` 137-165), cmul (896) is the
elementwise product, addcdiv (1175) computes ``r + (value*src1)/src2``, sqrt (2908) is
``sqrtf``.  Scalars (0.95, 0.05, 0.01, -1, lr) are rounded to float32 when passed in; the
transcription rounds after every multiply and add (no fused multiply-add).

Gradients
---------
From ``np.random.default_rng(SEED)``: per-parameter scale 10**linspace(-4, 1, 32),
gradient = scale * (0.7*sin(2*pi*t/period + phase) + 0.8*N(0,1) + bias), so signs change
over time; params ZERO_PARAMS get exactly 0 on steps ZERO_STEPS; param CONST_PARAM gets
the constant CONST_GRAD every step.  Initial parameters ~ N(0,1).  All cast to float32.
"""

import json
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

N = 32
T = 300
SEED = 20240611
RECORDED = [1, 2, 3, 4, 5] + list(range(10, T + 1, 10))
ZERO_PARAMS = [4, 15, 27]
ZERO_STEPS = (100, 199)  # inclusive
CONST_PARAM = 21
CONST_GRAD = np.float32(0.3125)  # 5/16: exactly representable

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OUT = os.path.join(REPO, "tests", "data", "optim")

f32 = np.float32

TF_KERNELS = (
    "tensorflow/tensorflow tensorflow/core/kernels/training_ops.cc @ "
    "008130e951d59f5ed8cea7238848cd9cf50f0661, functor::ApplyRMSProp<CPUDevice, T> and "
    "functor::ApplyCenteredRMSProp<CPUDevice, T>; slot init from "
    "tensorflow/python/training/rmsprop.py @ 0304934138cbfabd338ec432a630a9c3c1191564, "
    "RMSPropOptimizer._create_slots (rms = ones, mg = zeros, momentum = zeros)"
)
NATURE_SRC = (
    "deepmind/dqn dqn/NeuralQLearner.lua @ 9d9b1d13a2b491d6ebd4d046740c511c662bbe0f, "
    "nql:qLearnMinibatch lines 266-277 (state init lines 145-149), with dw = -grad; "
    "Torch7 op semantics from torch/torch7 @ 814ea4afd6beb110705d2456de03876841fcf1fd "
    "TensorMath.lua 280-289 and lib/TH/generic/THTensorMath.c add 630, mul 645, cadd 877, "
    "cmul 896, addcdiv 1175, sqrt 2908; float32, every op rounded separately (no FMA)"
)


def fmt(x):
    """Shortest decimal string that round-trips to the same float32."""
    x = f32(x)
    s = str(x)
    back = f32(s)
    assert back.tobytes() == x.tobytes() or (np.isnan(x) and np.isnan(back)), (s, x)
    return s


def write_csv(path, first_col, labels, rows):
    lines = [",".join([first_col] + ["p%d" % i for i in range(N)])]
    for lab, row in zip(labels, rows):
        assert row.dtype == np.float32 and row.shape == (N,)
        lines.append(",".join([str(lab)] + [fmt(v) for v in row]))
    with open(path, "w", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")


def make_inputs():
    rng = np.random.default_rng(SEED)
    init = rng.standard_normal(N).astype(np.float32)
    scale = 10.0 ** np.linspace(-4.0, 1.0, N)
    period = rng.uniform(20.0, 120.0, N)
    phase = rng.uniform(0.0, 2.0 * np.pi, N)
    bias = rng.uniform(-0.5, 0.5, N)
    noise = rng.standard_normal((T, N))
    t = np.arange(1, T + 1, dtype=np.float64)[:, None]
    g = scale * (0.7 * np.sin(2.0 * np.pi * t / period + phase) + 0.8 * noise + bias)
    g = g.astype(np.float32)
    g[ZERO_STEPS[0] - 1:ZERO_STEPS[1], ZERO_PARAMS] = 0.0
    g[:, CONST_PARAM] = CONST_GRAD
    assert g.dtype == np.float32
    return init, g


# ---------------------------------------------------------------- PyTorch

def run_torch(init, grads, make_opt):
    p = torch.nn.Parameter(torch.from_numpy(init.copy()))
    opt = make_opt([p])
    out = []
    for step in range(1, T + 1):
        p.grad = torch.from_numpy(grads[step - 1].copy())
        opt.step()
        if step in RECORDED:
            out.append(p.detach().numpy().copy())
    return out


def torch_rmsprop(lr, alpha, eps, centered, momentum):
    return lambda ps: torch.optim.RMSprop(
        ps, lr=lr, alpha=alpha, eps=eps, weight_decay=0, momentum=momentum,
        centered=centered, foreach=False)


def torch_adam(lr, beta1, beta2, eps):
    return lambda ps: torch.optim.Adam(
        ps, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=0, amsgrad=False,
        foreach=False)


# ---------------------------------------------------------------- TF1 transcription

def run_tf1(init, grads, lr, rho, momentum, epsilon, centered):
    lr, rho, momentum, epsilon = f32(lr), f32(rho), f32(momentum), f32(epsilon)
    one = f32(1)
    var = init.copy()
    ms = np.ones(N, np.float32)     # "rms" slot: ones_initializer
    mg = np.zeros(N, np.float32)    # "mg" slot (centered only): zeros
    mom = np.zeros(N, np.float32)   # "momentum" slot: zeros
    out = []
    for step in range(1, T + 1):
        grad = grads[step - 1]
        if centered:
            # ApplyCenteredRMSProp<CPUDevice, T>
            ms = ms + (grad * grad - ms) * (one - rho)
            mg = mg + (grad - mg) * (one - rho)
            denom = (ms - mg * mg) + epsilon
            mom = mom * momentum + (grad * lr) / np.sqrt(denom)
            var = var - mom
        else:
            # ApplyRMSProp<CPUDevice, T>
            ms = ms + (grad * grad - ms) * (one - rho)
            mom = mom * momentum + (grad * lr) / np.sqrt(ms + epsilon)
            var = var - mom
        for a in (var, ms, mg, mom):
            assert a.dtype == np.float32
        if step in RECORDED:
            out.append(var.copy())
    return out


# ---------------------------------------------------------------- Nature DQN transcription

def run_nature(init, grads, lr):
    lr = f32(lr)
    c095, c005, c001, cm1 = f32(0.95), f32(0.05), f32(0.01), f32(-1)
    w = init.copy()
    g = np.zeros(N, np.float32)
    g2 = np.zeros(N, np.float32)
    deltas = np.zeros(N, np.float32)
    out = []
    for step in range(1, T + 1):
        dw = -grads[step - 1]                 # ascent direction of the TD objective
        g = g * c095                          # self.g:mul(0.95)
        g = g + c005 * dw                     #       :add(0.05, self.dw)
        tmp = dw * dw                         # self.tmp:cmul(self.dw, self.dw)
        g2 = g2 * c095                        # self.g2:mul(0.95)
        g2 = g2 + c005 * tmp                  #        :add(0.05, self.tmp)
        tmp = g * g                           # self.tmp:cmul(self.g, self.g)
        tmp = tmp * cm1                       # self.tmp:mul(-1)
        tmp = tmp + g2                        # self.tmp:add(self.g2)   (value 1)
        tmp = tmp + c001                      # self.tmp:add(0.01)
        tmp = np.sqrt(tmp)                    # self.tmp:sqrt()
        deltas = deltas * f32(0)              # self.deltas:mul(0)
        deltas = deltas + (lr * dw) / tmp     #            :addcdiv(self.lr, self.dw, self.tmp)
        w = w + deltas                        # self.w:add(self.deltas)  (value 1)
        for a in (w, g, g2, tmp, deltas):
            assert a.dtype == np.float32
        if step in RECORDED:
            out.append(w.copy())
    return out


# ---------------------------------------------------------------- DeZero (the chapter's)

def run_dezero(init, grads, lr, beta1, beta2, eps):
    """The chapter's own optimizer: dezero 0.0.13's ``optimizers.Adam`` (pure NumPy), run as
    it is.  dezero 0.0.13 reads ``np.int`` at import (removed in NumPy 1.24), so the alias is
    restored for the import."""
    if not hasattr(np, "int"):
        np.int = int
    import dezero
    model = dezero.Layer()
    model.p = dezero.Parameter(init.copy())
    opt = dezero.optimizers.Adam(alpha=lr, beta1=beta1, beta2=beta2, eps=eps).setup(model)
    out = []
    for step in range(1, T + 1):
        model.p.grad = dezero.Variable(grads[step - 1].copy())
        opt.update()
        assert model.p.data.dtype == np.float32
        if step in RECORDED:
            out.append(model.p.data.copy())
    return out


# ---------------------------------------------------------------- cases

def torch_src(cls):
    return ("PyTorch %s torch.optim.%s, CPU, float32, foreach=False (_single_tensor_%s), "
            "weight_decay=0%s" % (torch.__version__, cls, cls.lower(),
                                  ", amsgrad=False, maximize=False" if cls == "Adam"
                                  else ", maximize=False"))


def cases():
    c = []

    def rms(name, lr, alpha, eps, centered, momentum, extra=""):
        c.append(dict(
            name=name, semantics="torch-rmsprop",
            hyperparameters=dict(lr=lr, alpha=alpha, eps=eps, centered=centered,
                                 momentum=momentum),
            source=torch_src("RMSprop") + extra,
            run=lambda i, g: run_torch(i, g, torch_rmsprop(lr, alpha, eps, centered,
                                                           momentum))))

    rms("torch-rmsprop-plain", 1e-2, 0.99, 1e-8, False, 0.0)
    rms("torch-rmsprop-centered", 1e-2, 0.95, 0.01, True, 0.0)
    rms("torch-rmsprop-momentum", 1e-2, 0.9, 1e-6, False, 0.9)
    rms("torch-rmsprop-centered-momentum", 1e-2, 0.95, 0.01, True, 0.95)
    rms("torch-rmsprop-minatar", 2.5e-4, 0.95, 0.01, True, 0.0,
        "; hyper-parameters of kenjyoung/MinAtar examples/dqn.py @ "
        "4241f24685622cfb52f843cab9bbcf385a53484a lines 44-46 and 282: "
        "optim.RMSprop(policy_net.parameters(), lr=step_size, "
        "alpha=SQUARED_GRAD_MOMENTUM, centered=True, eps=MIN_SQUARED_GRAD) with "
        "STEP_SIZE=0.00025, SQUARED_GRAD_MOMENTUM=0.95, MIN_SQUARED_GRAD=0.01")

    def adam(name, lr, beta1, beta2, eps, extra=""):
        c.append(dict(
            name=name, semantics="torch-adam",
            hyperparameters=dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps),
            source=torch_src("Adam") + extra,
            run=lambda i, g: run_torch(i, g, torch_adam(lr, beta1, beta2, eps))))

    adam("torch-adam-default", 1e-2, 0.9, 0.999, 1e-8)
    adam("torch-adam-eps", 1e-2, 0.9, 0.999, 3.125e-4,
         "; eps 3.125e-4 = 0.01/32 as in Revisiting Rainbow")
    adam("torch-adam-betas", 1e-2, 0.5, 0.9, 1e-6)

    def tf1(name, lr, rho, momentum, eps, centered):
        c.append(dict(
            name=name, semantics="tf1-rmsprop",
            hyperparameters=dict(lr=lr, alpha=rho, eps=eps, centered=centered,
                                 momentum=momentum),
            source="float32 NumPy transcription of tf.compat.v1.train.RMSPropOptimizer "
                   "(dense path): " + TF_KERNELS + "; alpha is TF's decay/rho",
            run=lambda i, g: run_tf1(i, g, lr, rho, momentum, eps, centered)))

    tf1("tf1-rmsprop-plain", 1e-2, 0.9, 0.0, 1e-10, False)
    tf1("tf1-rmsprop-centered-momentum", 1e-2, 0.95, 0.9, 0.01, True)

    def nature(name, lr, extra=""):
        c.append(dict(
            name=name, semantics="nature-rmsprop",
            hyperparameters=dict(lr=lr, alpha=0.95, eps=0.01, centered=True,
                                 momentum=0.0),
            source="float32 NumPy transcription of DeepMind's Nature-DQN RMSprop: "
                   + NATURE_SRC + extra,
            run=lambda i, g: run_nature(i, g, lr)))

    def dezero_adam(name, lr, beta1, beta2, eps, extra=""):
        c.append(dict(
            name=name, semantics="dezero-adam",
            hyperparameters=dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps),
            source="dezero 0.0.13 dezero.optimizers.Adam (the chapter's optimizer), run as "
                   "installed from PyPI, float32 NumPy" + extra,
            run=lambda i, g: run_dezero(i, g, lr, beta1, beta2, eps)))

    dezero_adam("dezero-adam-default", 1e-2, 0.9, 0.999, 1e-8)
    dezero_adam("dezero-adam-chapter", 5e-4, 0.9, 0.999, 1e-8,
                "; lr 5e-4 as the chapter's DQNAgent (optimizers.Adam(self.lr))")

    nature("nature-rmsprop", 1e-2)
    nature("nature-rmsprop-dqn", 2.5e-4,
           "; lr 2.5e-4 as in the Nature paper and deepmind/dqn run_gpu line 25 (lr=0.00025)")
    return c


def main():
    assert torch.__version__.split("+")[0] == "2.15.0", torch.__version__
    assert np.__version__ == "1.26.4", np.__version__
    os.makedirs(OUT, exist_ok=True)
    init, grads = make_inputs()
    write_csv(os.path.join(OUT, "inputs.csv"), "row", list(range(T + 1)),
              [init] + [grads[i] for i in range(T)])

    meta = dict(
        description="Reference trajectories for the Rust RMSprop/Adam semantics; "
                    "written by tests/data/generators/optim_ref.py (deterministic).",
        generator="tests/data/generators/optim_ref.py",
        environment=dict(torch=torch.__version__, numpy=np.__version__,
                         python=sys.version.split()[0], device="cpu",
                         torch_cpu_capability=torch.backends.cpu.get_cpu_capability(),
                         dtype="float32", torch_threads=1),
        notes=[
            "torch cases: torch 2.15.0's CPU float32 Tensor.sqrt is not correctly rounded "
            "(about 15% of inputs are 1 ulp off the correctly rounded root; it goes through "
            "MKL VML, on every ATEN_CPU_CAPABILITY), and its addcmul_, lerp_ and "
            "add_(alpha=) kernels use fused multiply-adds; a port using a correctly "
            "rounded sqrt reproduces these files to within rounding, not bit for bit. "
            "The files match ATEN_CPU_CAPABILITY avx2 and avx512 (bit-identical); "
            "'default' (no FMA) gives different bits",
            "param %d has a constant gradient: in the centered torch cases "
            "square_avg - grad_avg^2 cancels down to a few ulps of square_avg, so its "
            "trajectory is very sensitive to the rounding of the state updates (FMA or "
            "not moves it by up to ~0.8 in torch-rmsprop-centered-momentum), while the "
            "sqrt rounding moves it by ~1e-5" % CONST_PARAM,
            "tf1 and nature cases are NumPy float32 transcriptions: one rounding per "
            "written operation, correctly rounded sqrt, no fused multiply-add",
        ],
        number_format="every value is a float32 written as the shortest decimal string "
                      "that parses back to the same float32 (numpy str(np.float32))",
        inputs=dict(
            file="inputs.csv", header="row,p0..p31", n_params=N, n_steps=T,
            rows="row 0 = initial parameters; row t (1..300) = loss gradient fed at step t",
            seed=SEED,
            generation="np.random.default_rng(seed): init = standard_normal(32); "
                       "period = uniform(20,120,32); phase = uniform(0,2pi,32); "
                       "bias = uniform(-0.5,0.5,32); noise = standard_normal((300,32)); "
                       "grad[t,i] = 10**linspace(-4,1,32)[i] * (0.7*sin(2pi*t/period[i]"
                       "+phase[i]) + 0.8*noise[t-1,i] + bias[i]), computed in float64 "
                       "then cast to float32",
            zero_gradient=dict(params=ZERO_PARAMS, steps_inclusive=list(ZERO_STEPS)),
            constant_gradient=dict(param=CONST_PARAM, value=float(CONST_GRAD)),
        ),
        trajectory_format="<name>.csv, header step,p0..p31: parameters after each step "
                          "in steps_recorded",
        cases=[],
    )
    for case in cases():
        traj = case["run"](init, grads)
        assert len(traj) == len(RECORDED)
        for row in traj:
            assert np.all(np.isfinite(row)), case["name"]
        fname = case["name"] + ".csv"
        write_csv(os.path.join(OUT, fname), "step", RECORDED, traj)
        meta["cases"].append(dict(
            name=case["name"], semantics=case["semantics"], file=fname,
            hyperparameters=case["hyperparameters"], source=case["source"],
            steps_recorded=RECORDED))
    with open(os.path.join(OUT, "cases.json"), "w", newline="\n") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    main()
