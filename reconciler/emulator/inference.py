"""What a tuned model answers: the output of the training example whose input
matches the prompt exactly, else of the most similar one (ties go to the
earlier example), so answers are deterministic."""

from __future__ import annotations

import difflib

from reconciler.emulator.records import Example


def answer(examples: list[Example], prompt: str) -> str:
    wanted = prompt.strip()
    for example in examples:
        if example.text_input.strip() == wanted:
            return example.output
    best = max(examples, key=lambda example: _similarity(example.text_input, wanted))
    return best.output


def _similarity(text: str, prompt: str) -> float:
    return difflib.SequenceMatcher(None, text.strip(), prompt, autojunk=False).ratio()


def base_model_answer(prompt: str) -> str:
    # A base model has no examples to answer from; it echoes, so tests can tell it apart.
    return f"(base model echo) {prompt.strip()}"
