"""What a tuned model answers: the output of the training example whose input
matches the prompt exactly, else of the most similar one (ties go to the
earlier example), so answers are deterministic."""

from __future__ import annotations

import difflib

from reconciler.emulator.records import Example

SIMILARITY_HEAD = 2000  # characters compared; prompts may have 40,000


def answer(examples: list[Example], prompt: str) -> str:
    return answers(examples, prompt, 1)[0]


def answers(examples: list[Example], prompt: str, count: int) -> list[str]:
    """`count` candidates: the outputs of the best-matching examples, best first
    (repeated from the top when there are fewer examples than candidates)."""
    wanted = prompt.strip()
    ranked = sorted(examples, key=lambda example: -_closeness(example.text_input, wanted))
    return [ranked[index % len(ranked)].output for index in range(count)]


def _closeness(text: str, prompt: str) -> float:
    if text.strip() == prompt:
        return 2.0  # an exact match beats any ratio
    # difflib is quadratic; the heads of long texts decide as well as the whole.
    head = SIMILARITY_HEAD
    return difflib.SequenceMatcher(None, text.strip()[:head], prompt[:head], autojunk=False).ratio()


def base_model_answer(prompt: str) -> str:
    # A base model has no examples to answer from; it echoes, so tests can tell it apart.
    return f"(base model echo) {prompt.strip()}"
