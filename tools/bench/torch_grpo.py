#!/usr/bin/env python3
"""An HF GRPO loop's step time, beside `npm run bench -- grpo` (src/bench/grpo.ts) in the same run.

Run on the GPU machine (torch, transformers 5.x, peft; no network), on a checkpoint folder, e.g. the random
real-shape ones of `python3 tools/golden/make_fixtures.py --real-shapes --out /tmp/real`:
    python3 tools/bench/torch_grpo.py --model /tmp/real/smollm2-135m-shaped --group 16 --prompt 64 --new 128 \
        --out /tmp/out/torch_grpo-135m.json [--rank 16] [--steps 5] [--attn sdpa] [--tf32]

What one step is (what TRL's GRPOTrainer does for one prompt's group, written out so nothing else is timed):
  model fp32 (AutoModelForCausalLM, attn_implementation sdpa by default) on cuda, PEFT LoraConfig(r=rank,
  lora_alpha=2*rank, lora_dropout=0, all 7 targets); one fixed random prompt of --prompt ids (seed 1) repeated
  G times; per step
    rollouts: model.generate(do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=new,
              min_new_tokens=new) under torch.no_grad() and the KV cache — timed alone (rollout_tokens_per_s =
              G * new / its wall time);
    reward:   the share of even token ids per completion (the engine's stand-in), advantages
              (r - mean) / (std + 1e-4) with the unbiased std;
    update:   a forward with grad over prompt + completion, log_softmax at the completion tokens, the dapo
              loss with ratio exp(logp - logp.detach()) (= 1, as TRL's first iteration) and beta 0, backward,
              clip_grad_norm_(1.0), AdamW(lr 1e-6) step, zero_grad.
  Wall clock between torch.cuda.synchronize() calls; step 1 (warm-up) is reported alone; the medians are over
  steps 2..N. TF32 off unless --tf32 (plain fp32 like the WebGPU kernels).

Writes --out: {schema "stoney-torch-grpo-v1", device, torch, transformers, peft, model, group, prompt, new,
rank, steps, first_step_s, step_s_median, rollout_s_median, update_s_median, rollout_tokens_per_s, step_s [..]}.
"""
import argparse
import json
import statistics
import sys
import time

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--group", type=int, default=16)
    ap.add_argument("--prompt", type=int, default=64)
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--attn", default="sdpa")
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    import torch
    import transformers
    import peft
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32, attn_implementation=a.attn, local_files_only=True).to(dev)
    vocab = model.config.vocab_size
    torch.manual_seed(0)
    model = get_peft_model(model, LoraConfig(r=a.rank, lora_alpha=2 * a.rank, lora_dropout=0.0, target_modules=TARGETS, bias="none", task_type="CAUSAL_LM"))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-6, weight_decay=0.0)
    g = torch.Generator().manual_seed(1)
    prompt = torch.randint(0, vocab, (1, a.prompt), generator=g).to(dev)
    batch = prompt.repeat(a.group, 1)
    attn = torch.ones_like(batch)

    steps, rolls, updates = [], [], []
    for i in range(a.steps):
        sync()
        t0 = time.perf_counter()
        model.eval()
        with torch.no_grad():
            out = model.generate(input_ids=batch, attention_mask=attn, do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                                 max_new_tokens=a.new, min_new_tokens=a.new, pad_token_id=0)
        sync()
        t1 = time.perf_counter()
        comp = out[:, a.prompt:]  # [G, new]
        rewards = (comp % 2 == 0).float().mean(dim=1)
        adv = (rewards - rewards.mean()) / (rewards.std() + 1e-4)
        model.train()
        logits = model(input_ids=out).logits[:, a.prompt - 1:-1, :]  # [G, new, V]
        logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, comp.unsqueeze(-1)).squeeze(-1)  # [G, new]
        ratio = torch.exp(logp - logp.detach())
        per_token = -ratio * adv.unsqueeze(1)
        loss = per_token.sum() / per_token.numel()  # dapo: every token counts (no EOS)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync()
        t2 = time.perf_counter()
        steps.append(t2 - t0)
        rolls.append(t1 - t0)
        updates.append(t2 - t1)
        print(f"step {i + 1}: {1000 * (t2 - t0):.0f} ms (rollouts {1000 * (t1 - t0):.0f} ms, update {1000 * (t2 - t1):.0f} ms)", file=sys.stderr)

    rest = slice(1, None) if a.steps > 1 else slice(0, None)
    roll_med = statistics.median(rolls[rest])
    res = {
        "schema": "stoney-torch-grpo-v1",
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
        "model": a.model, "group": a.group, "prompt": a.prompt, "new": a.new, "rank": a.rank, "steps": a.steps, "attn": a.attn, "tf32": a.tf32,
        "first_step_s": steps[0], "step_s_median": statistics.median(steps[rest]), "rollout_s_median": roll_med,
        "update_s_median": statistics.median(updates[rest]), "rollout_tokens_per_s": a.group * a.new / roll_med, "step_s": steps,
    }
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps({k: v for k, v in res.items() if k != "step_s"}))


if __name__ == "__main__":
    main()
