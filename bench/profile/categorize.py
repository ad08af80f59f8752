#!/usr/bin/env python3
"""Aggregate `perf script -F tid,ip,sym,symoff --no-inline` output (dwarf call graphs) into
self-time categories and inclusive phases of the training loop.

usage: categorize.py SCRIPT.txt [ELEMENTWISE_CLOSURE_START ...]
ELEMENTWISE_CLOSURE_START: start addresses (as perf prints them, ip - symoff) of backward
closures (`FnOnce::call_once{{vtable.shim}}`) whose self time is an inlined elementwise kernel
(found with `perf annotate`); other closure self time counts as tape bookkeeping."""
import re, sys, collections

def samples(path):
    chain = []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if chain:
                    yield chain
                chain = []
                continue
            if not line.startswith(("\t", " ")):
                chain = []
                continue
            addr, _, sym = line.strip().partition(" ")
            m = re.match(r"(.*)\+0x([0-9a-f]+)$", sym)
            base, off = (m.group(1), int(m.group(2), 16)) if m else (sym, 0)
            chain.append((int(addr, 16), base, off))
    if chain:
        yield chain

def has(names, *keys):
    return any(k in n for n in names for k in keys)

def category(ch, elementwise_closures):
    addr, leaf, off = ch[0]
    up = [b for _, b, _ in ch[1:4]]
    if addr >= 0xffffffff00000000:
        return "kernel (page faults, timer, syscalls)"
    if re.search(r"gemm_f32|gemm_common|gemm::", leaf) or (
        "LocalKey<T>::with" in leaf and has(up[:1], "gemm")):
        return "GEMM (gemm crate: microkernels, packing, driver)"
    if "adam_kernel" in leaf or "rmsprop_kernel" in leaf:
        return "optimizer kernel (Adam / RMSprop)"
    if re.search(r"__mem(set|move|cpy)", leaf):
        if has(up[:2], "try_zeros_like", "try_alloc_elem", "calloc"):
            return "alloc: zero-fill of new buffers (memset)"
        if has(up[:3], "ZeroGrads"):
            return "zero_grads (memset of parameter gradients)"
        if has(up[:2], "make_mut", "clone_from_ref"):
            return "copies: Arc::make_mut copy-on-write of activations"
        if has(up[:2], "FrameReplay", "FrameStore"):
            return "replay (sampling, gathering observations)"
        if has(up[:2], "encode", "im2col"):
            return "input encoding (im2col / copy into batch)"
        return "copies: other memcpy/memset"
    if re.search(r"malloc|free|calloc|realloc|_int_|__rust_alloc|__rust_dealloc|__rdl_|unlink_chunk|tcache|try_alloc_elem|RawVec|finish_grow", leaf):
        return "allocation (malloc/free)"
    if "vtable.shim" in leaf:
        if (addr - off) in elementwise_closures:
            return "elementwise ops / activations / loss"
        return "autograd tape bookkeeping"
    if re.search(r"BinaryKernel|UnaryKernel|relu_backward_rows|conv_relu_forward|transpose_bias_act|bias_relu|bias_act|tensor_ops::(select|sum_to|mean_to|huber|max_to|reshape|permute)|dqn_sweep::agent::conv::tape::host|scatter|gather", leaf):
        return "elementwise ops / activations / loss"
    if re.search(r"OwnedTape|gradients::|btree|BTree|sync::Arc|drop_in_place|unique_id|visit_fields|add_backward_op|Merge|tensor_collection|iter_tensors|ZeroGrads|alloc_grads|put_tape|split_tape|Backward|try_binary_op|try_unary_op|TensorFromVec|tensor_from_vec|tensor_to_vec|try_forward|dfdx::", leaf):
        return "autograd tape bookkeeping"
    if re.search(r"im2col|DqnAgent<N,E,_,_>::encode|encode_minatar", leaf):
        return "input encoding (im2col / copy into batch)"
    if "dqn_sweep::env::" in leaf:
        return "environment step"
    if re.search(r"agent::frames|agent::replay|prioritized|rand::seq::index", leaf):
        return "replay (sampling, gathering observations)"
    if re.search(r"rand_chacha|rand::|rand_core|ChaCha|rand_distr", leaf):
        return "RNG"
    if re.search(r"plotters|png::|polars|report::|ttf|ab_glyph|fdeflate|miniz|csv", leaf):
        return "results/report writing (after training)"
    return "other"

PHASES = [
    # (label, key that must appear in the chain, checked from the root down)
    ("update: backward (tape execute)", "Backward::backward"),
    ("update: online forward, taped (forward_mut)", "ModuleMut::forward_mut"),
    ("update: target forward, no tape (Module::forward)", "dfdx::nn::module::Module::forward"),
    ("update: optimizer step", "Optimizer<M,D,E>>::update"),
    ("update: zero_grads", "ZeroGrads::try_zero_grads"),
    ("update: replay sample", "FrameReplay<E>::sample"),
    ("update: gather + encode batch inputs", "write_observation"),
    ("update: gather + encode batch inputs", "DqnAgent<N,E,_,_>::encode"),
]

def phase(ch):
    names = [b for _, b, _ in reversed(ch)]  # root first
    for i, n in enumerate(names):
        if "DqnAgent<N,E,_,_>::update" in n:
            rest = names[i + 1:]
            for label, key in PHASES:
                if any(key in r for r in rest[:3]):
                    return label
            return "update: other (loss, select, tensors from vecs, drops)"
        if "DqnAgent<N,E,_,_>::act" in n:
            return "act: greedy forward (batch 1)"
        if "DqnAgent<N,E,_,_>::q_values" in n:
            return "q_values outside act (per-episode mean-max-Q probe, evals)"
        if "dqn_sweep::env::" in n:
            return "environment step / reset"
        if "FrameReplay<E>::push" in n or "begin_episode" in n:
            return "replay push"
        if "report::" in n or "write_report" in n or "plotters" in n:
            return "results/report writing (after training)"
    if any("train::Loop" in n for n in names):
        return "train loop: other"
    return "startup / other"

def main():
    path = sys.argv[1]
    ew = {int(a, 16) for a in sys.argv[2:]}
    S = list(samples(path))
    n = len(S)
    cats, phases = collections.Counter(), collections.Counter()
    upd_cats = collections.Counter()
    n_upd = 0
    gemm_by_phase = collections.Counter()
    for ch in S:
        c = category(ch, ew)
        p = phase(ch)
        cats[c] += 1
        phases[p] += 1
        if p.startswith("update"):
            n_upd += 1
            upd_cats[c] += 1
        if c.startswith("GEMM"):
            gemm_by_phase[p] += 1
    print(f"# {path}: {n} samples")
    print("\n## Self time by category (all samples | samples inside DqnAgent::update)")
    for c, v in cats.most_common():
        print(f"{100*v/n:6.1f}%  {100*upd_cats[c]/max(n_upd,1):6.1f}%  {c}")
    print(f"\n## Inclusive time by phase (update() = {100*n_upd/n:.1f}% of samples)")
    for p, v in phases.most_common():
        print(f"{100*v/n:6.1f}%  {p}")
    g = sum(gemm_by_phase.values())
    print(f"\n## GEMM self time by phase (GEMM = {100*g/n:.1f}% of samples)")
    for p, v in gemm_by_phase.most_common():
        print(f"{100*v/n:6.1f}%  {p}")

if __name__ == "__main__":
    main()
