"""Token distributions as scores over words: a token counts for the lower-case word it spells.

``word_scores`` folds a probability vector over the vocabulary into words (" Moon", "moon" and
"MOON" are one word), dropping stopwords and words the caller excludes (those of the prompt).
"""

from __future__ import annotations

import re
from weakref import WeakKeyDictionary

import torch

from interp_skills.runtime import LoadedModel

# Function words and chat filler that a lens or a reply shows whatever the secret is (our own list).
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between
both but by can cannot could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just let me more most my myself no nor not
now of off on once only or other our ours out over own same she should so some such than that the their theirs
them then there these they this those through to too under until up very was we were what when where which while
who whom why will with would you your yours yourself im ive dont cant its thats theres youre ill id sure okay ok
yes yeah hello hi hey oh well like get got one two make made may might must shall us thing things something
really much many way lot please thank thanks sorry assistant user system word words secret hint hints tell
""".split())

_WORD = re.compile(r"[a-z]{3,}")
_WORD_START = ("Ġ", "▁", " ")
_VOCAB: WeakKeyDictionary = WeakKeyDictionary()


def content_words(text: str) -> list[str]:
    """The lower-case words of ``text`` that are not stopwords, in order (repeats kept)."""
    return [w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 2 and w not in STOPWORDS]


def _vocab_words(lm: LoadedModel) -> tuple[list[str], torch.Tensor]:
    """Every word some token spells, and for each token id the index of its word (-1: not a word).

    A word is at least three letters and spelled by a word-initial token (a BPE "Ġmoon" or
    SentencePiece "▁moon"), so subword pieces ("istant") do not count; a token without the marker
    ("moon" at a line start) counts for the same word. Word-level vocabularies have no markers:
    every token counts.
    """
    if lm.tokenizer not in _VOCAB:
        raw = lm.tokenizer.convert_ids_to_tokens(list(range(len(lm.tokenizer))))
        texts = [lm.tokenizer.convert_tokens_to_string([token]).strip().lower() for token in raw]
        initial = [token[:1] in _WORD_START for token in raw]
        spelled = {text for text, first in zip(texts, initial) if first or not any(initial)}
        words: dict[str, int] = {}
        index = torch.full((len(raw),), -1, dtype=torch.long)
        for token_id, text in enumerate(texts):
            if text in spelled and _WORD.fullmatch(text):
                index[token_id] = words.setdefault(text, len(words))
        _VOCAB[lm.tokenizer] = (list(words), index)
    return _VOCAB[lm.tokenizer]


def word_scores(lm: LoadedModel, probs: torch.Tensor, *, exclude: set[str] = frozenset(), top: int | None = 50
                ) -> dict[str, float]:
    """The ``top`` words (None: all) by total probability in ``probs`` (``[vocab]``, or ``[..., vocab]`` summed over the
    rest), highest first, without stopwords and ``exclude``; words with no probability are left out."""
    words, index = _vocab_words(lm)
    flat = probs.reshape(-1, probs.shape[-1]).sum(dim=0)
    n = min(flat.shape[0], index.shape[0])
    keep = index[:n] >= 0
    totals = torch.zeros(len(words)).index_add_(0, index[:n][keep], flat[:n][keep].float())
    scores: dict[str, float] = {}
    for i in torch.argsort(totals, descending=True).tolist():
        if len(scores) == top or totals[i] <= 0:
            break
        if words[i] not in STOPWORDS and words[i] not in exclude:
            scores[words[i]] = float(totals[i])
    return scores


def spelling_tokens(lm: LoadedModel, words: set[str]) -> list[int]:
    """Ids of every token that spells one of ``words`` (lower case, spaces stripped; short words and stopwords
    such as "she" included), e.g. the female words of a gender lexicon."""
    raw = lm.tokenizer.convert_ids_to_tokens(list(range(len(lm.tokenizer))))
    return [token_id for token_id, token in enumerate(raw)
            if lm.tokenizer.convert_tokens_to_string([token]).strip().lower() in words]
