// lab_data.py of an exported TRL project: the lab's JSONL row forms read as the lab reads them
// (src/engine/train/data.ts for SFT, src/engine/rl/grpo-data.ts for GRPO and evaluation prompts,
// src/engine/rl/dpo.ts for DPO), turned into TRL's dataset formats; the data check (sha256), the
// inherited terms, and the split of the lab's batch over accelerate's processes. Standard library only
// at import (the tokenizer is passed in), so the lab's tests can run it without torch.
// (String.raw: the backslashes below are Python's.)
export const LAB_DATA_PY = String.raw`"""How Stoney-RL Lab reads its data, for TRL (src/engine/train/data.ts, src/engine/rl/grpo-data.ts, src/engine/rl/dpo.ts).

Every string of a row is read in Unicode NFC, as the lab reads it. Rows the lab would skip are skipped
here too, each with its line on stderr; rows longer than the model's context are skipped, not truncated
(a truncated answer trains the model to stop early).
"""
import hashlib
import json
import os
import sys
import unicodedata


class RowError(ValueError):
    """A row that cannot be used; the message says why (the line is added by the reader)."""


def warn(message):
    print(f"lab_data: {message}", file=sys.stderr)


def nfc(v):
    """Every string inside v in Unicode NFC (the lab's util/nfc.ts)."""
    if isinstance(v, str):
        return unicodedata.normalize("NFC", v)
    if isinstance(v, list):
        return [nfc(x) for x in v]
    if isinstance(v, dict):
        return {nfc(k): nfc(x) for k, x in v.items()}
    return v


def read_rows(path):
    """(line, row) for each non-blank line that is a JSON object; others are reported and skipped."""
    with open(path, encoding="utf-8-sig") as f:
        for line, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as e:
                warn(f"{path}:{line}: not valid JSON ({e.msg}); skipped")
                continue
            if not isinstance(row, dict):
                warn(f"{path}:{line}: a row must be a JSON object; skipped")
                continue
            yield line, nfc(row)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_data(path, sha256):
    """Refuses a data file that is missing or is not the bytes the lab run trained on."""
    if path is None or not os.path.isfile(path):
        sys.exit(f"train.py: the run's data file {path} is not here; set DATA_FILE to where it is (it is not copied into this project: see provenance.json)")
    if sha256 is not None:
        got = sha256_file(path)
        if got != sha256:
            sys.exit(f"train.py: {path} has sha256 {got}, but the lab run trained on {sha256}: the file changed since. Export a run made on this file, or set DATA_SHA256 = None to train on it on purpose (the recipe then differs)")


def show_terms(provenance_path):
    """Prints the terms the trained model inherits from its data (provenance.json)."""
    with open(provenance_path, encoding="utf-8") as f:
        terms = json.load(f).get("inherited", {})
    uses = ", ".join(terms.get("prohibited_uses", [])) or "none"
    print(f"train.py: the result inherits the data's terms: prohibited uses {uses}; sensitive content {terms.get('contains_sensitive_content')}; sources {', '.join(terms.get('sources', []))}", file=sys.stderr)


def write_terms(output_dir, provenance_path):
    """governance.json beside the trained adapter, as the lab writes it beside its own."""
    with open(provenance_path, encoding="utf-8") as f:
        p = json.load(f)
    g = dict(p.get("governance", {}))
    g["note"] = "what is trained from this data inherits these terms (trained by TRL from the export of a lab run)"
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "governance.json"), "w", encoding="utf-8") as f:
        json.dump(g, f, indent=1, ensure_ascii=False)


def split_batch(rows, accum, world, what):
    """(per-device batch, accumulation) giving the lab's rows x accum per optimizer step over world processes."""
    if world <= 1:
        return rows, accum
    if accum % world == 0:
        return rows, accum // world
    if rows % world == 0:
        return rows // world, accum
    sys.exit(f"train.py: the lab run's {what} ({rows} x {accum} accumulation) cannot be split over {world} processes; use a number of processes that divides it, or change the batch in train.py (the recipe then differs from the lab run)")


# ---- prompts as the lab renders them -------------------------------------------------------------


def qa_prompt(question):
    """The prompt of a question without a chat template; the answer then starts with a space."""
    return f"Question: {question}\nAnswer:"


def load_tokenizer(model, revision=None):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model, revision=revision)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def has_template(tok):
    return bool(getattr(tok, "chat_template", None))


def _ids(tok, text, special):
    return list(tok(text, add_special_tokens=special)["input_ids"])


def prompt_ids(tok, messages):
    """The lab's promptIds: the chat template with the generation prompt, else qa_prompt of the last turn with special tokens."""
    if has_template(tok):
        return _ids(tok, tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True), False)
    return _ids(tok, qa_prompt(messages[-1]["content"]), True)


def prompt_text(tok, messages):
    """prompt_ids as text for trainers that tokenize without special tokens (DPO): the BOS written out where the tokenizer adds one."""
    if has_template(tok):
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    text = qa_prompt(messages[-1]["content"])
    with_special, plain = _ids(tok, text, True), _ids(tok, text, False)
    bos = getattr(tok, "bos_token", None)
    return bos + text if bos and len(with_special) > len(plain) and with_special[0] == tok.bos_token_id else text


def _messages(v):
    if not isinstance(v, list) or not all(isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in v):
        raise RowError('"messages" needs {role, content} strings')
    return [{"role": m["role"], "content": m["content"]} for m in v]


# ---- SFT (src/engine/train/data.ts) -----------------------------------------------------------------


def _sft_items(r, tok):
    if "input_ids" in r:
        ids, labels = r["input_ids"], r.get("labels", r["input_ids"])
        if not all(isinstance(x, int) for x in ids) or not isinstance(labels, list) or len(labels) != len(ids):
            raise RowError('"input_ids" must be integers and "labels" as many')
        return [{"input_ids": ids, "labels": labels}]
    if "messages" in r:
        msgs = _messages(r["messages"])
        if not has_template(tok):
            raise RowError('the tokenizer has no chat template, so "messages" rows cannot be rendered')
        turns = [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
        if not turns:
            raise RowError('"messages" has no "assistant" message, so nothing would be trained')
        if turns[0] == 0:
            raise RowError("the first message is the assistant's: there is no prompt before it")
        # the lab trains every assistant turn of a row at once; TRL's prompt-completion form trains one,
        # so a row with k assistant turns becomes k rows (the same tokens trained, in other batches)
        return [{"prompt": msgs[:i], "completion": [msgs[i]]} for i in turns]
    if "prompt" in r and "completion" in r:
        if not isinstance(r["prompt"], str) or not isinstance(r["completion"], str):
            raise RowError('"prompt" and "completion" must be strings')
        return [{"prompt": r["prompt"], "completion": r["completion"]}]
    if "question" in r and "answer" in r:
        q, a = r["question"], r["answer"]
        if not isinstance(q, str) or not isinstance(a, str):
            raise RowError('"question" and "answer" must be strings')
        if has_template(tok):
            return [{"prompt": [{"role": "user", "content": q}], "completion": [{"role": "assistant", "content": a}]}]
        return [{"prompt": qa_prompt(q), "completion": " " + a}]
    raise RowError('unknown row form; expected {"input_ids"}, {"messages"}, {"prompt","completion"} or {"question","answer"}')


def _sft_length(item, tok):
    if "input_ids" in item:
        return len(item["input_ids"])
    if isinstance(item["prompt"], list):
        return len(_ids(tok, tok.apply_chat_template(item["prompt"] + item["completion"], tokenize=False), False))
    return len(_ids(tok, item["prompt"] + item["completion"], True)) + 1  # + the EOS TRL appends


def sft_rows(path, tok, n_ctx):
    """TRL SFT rows: pre-tokenized {input_ids, labels}, or prompt-completion (standard or conversational); one form per file."""
    out, form, split = [], None, 0
    for line, r in read_rows(path):
        try:
            items = _sft_items(r, tok)
        except RowError as e:
            warn(f"{path}:{line}: {e}; skipped")
            continue
        split += len(items) - 1
        for item in items:
            kind = "tokenized" if "input_ids" in item else "conversational" if isinstance(item["prompt"], list) else "standard"
            if form is None:
                form = kind
            elif kind != form:
                sys.exit(f"train.py: {path}:{line} is a {kind} row after {form} rows; a TRL dataset holds one form, so give the rows of one form")
            n = _sft_length(item, tok)
            if n > n_ctx:
                warn(f"{path}:{line}: {n} tokens, longer than the context {n_ctx}; skipped, not truncated")
                continue
            out.append(item)
    if split:
        warn(f"{split} more rows from conversations with several assistant turns (one row per turn)")
    return out


# ---- GRPO and evaluation prompts (src/engine/rl/grpo-data.ts) ---------------------------------------


def prompt_items(path, tok, n_ctx=None, max_new_tokens=0):
    """Each row's prompt turns, the question as the reward sees it, the reference and the rl_task fields."""
    out = []
    for line, r in read_rows(path):
        s = lambda k: isinstance(r.get(k), str)
        pattern, hints = None, None
        if s("question") and s("answer"):
            question, reference, messages = r["question"], r["answer"], [{"role": "user", "content": r["question"]}]
        elif s("prompt") and s("ideal_answer"):
            question, reference, messages = r["prompt"], r["ideal_answer"], [{"role": "user", "content": r["prompt"]}]
            pattern = r["verification_pattern"] if s("verification_pattern") else None
            h = r.get("hints")
            hints = h if isinstance(h, list) and all(isinstance(x, str) for x in h) else None
        elif s("prompt"):
            reference = next((r[k] for k in ("reference", "answer", "completion") if s(k)), None)
            question, messages = r["prompt"], [{"role": "user", "content": r["prompt"]}]
        elif isinstance(r.get("messages"), list):
            try:
                msgs = _messages(r["messages"])
            except RowError as e:
                warn(f"{path}:{line}: {e}; skipped")
                continue
            users = [i for i, m in enumerate(msgs) if m["role"] == "user"]
            if not users:
                warn(f"{path}:{line}: \"messages\" has no user turn to prompt with; skipped")
                continue
            last = users[-1]
            messages, question = msgs[: last + 1], msgs[last]["content"]
            reference = next((m["content"] for m in msgs[last + 1 :] if m["role"] == "assistant"), None)
        else:
            warn(f'{path}:{line}: no prompt: expected {{"question","answer"}}, an rl_task {{"prompt","ideal_answer",...}}, {{"prompt",...}} or {{"messages": [...]}}; skipped')
            continue
        if n_ctx is not None:
            n = len(prompt_ids(tok, messages))
            if n + max_new_tokens > n_ctx:
                warn(f"{path}:{line}: the prompt has {n} tokens; with {max_new_tokens} new tokens it exceeds the context {n_ctx}; skipped")
                continue
        out.append({"line": line, "messages": messages, "question": question, "reference": reference, "verification_pattern": pattern, "hints": hints, "row": r})
    return out


def grpo_rows(path, tok, n_ctx, max_new_tokens):
    """TRL GRPO rows: "prompt" (conversational with a chat template, else the lab's Question/Answer text) and the reward columns."""
    rows = []
    for it in prompt_items(path, tok, n_ctx, max_new_tokens):
        prompt = it["messages"] if has_template(tok) else qa_prompt(it["messages"][-1]["content"])
        rows.append({"prompt": prompt, "reference": it["reference"], "verification_pattern": it["verification_pattern"], "hints": it["hints"]})
    return rows


# ---- DPO (src/engine/rl/dpo.ts) -----------------------------------------------------------------------


def dpo_rows(path, tok, n_ctx):
    """TRL DPO rows {prompt, chosen, rejected}: the prompt rendered as the lab renders it; completions as the lab encodes them."""
    out = []
    template = has_template(tok)
    for line, r in read_rows(path):
        bad = next((k for k in ("prompt", "chosen", "rejected") if not isinstance(r.get(k), str) or not r[k].strip()), None)
        if bad:
            warn(f'{path}:{line}: "{bad}" must be a non-empty string; skipped')
            continue
        if r["chosen"] == r["rejected"]:
            warn(f'{path}:{line}: "chosen" and "rejected" are the same text: the pair carries no preference; skipped')
            continue
        messages = [{"role": "user", "content": r["prompt"]}]
        # without a template the completion follows "Answer:" with a space, as SFT's question/answer rows
        comp = lambda t: t if template or t[:1].isspace() else " " + t
        chosen, rejected = comp(r["chosen"]), comp(r["rejected"])
        n = len(prompt_ids(tok, messages)) + max(len(_ids(tok, c, False)) + 1 for c in (chosen, rejected))
        if n > n_ctx:
            warn(f"{path}:{line}: the prompt and the longer completion make {n} tokens, more than the context {n_ctx}; skipped, not truncated")
            continue
        out.append({"prompt": prompt_text(tok, messages), "chosen": chosen, "rejected": rejected})
    return out
`;
