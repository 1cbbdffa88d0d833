"""The refusal-direction pack's knobs (``interp-skills replicate refusal-direction --set KEY=VALUE``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organism: bool | None = Field(None, description="fine-tune a refusal organism first; default: only for the "
                                                    "embedded SmolLM2, which does not refuse on its own")
    epochs: int = Field(2, ge=1, le=20, description="organism fine-tuning epochs")
    learning_rate: float = Field(1e-4, gt=0, le=1e-3)
    reply_tokens: int = Field(16, ge=4, le=128, description="tokens of the base model's own harmless replies kept")
    harmless_repeats: int = Field(1, ge=1, le=4, description="times each harmless example appears per epoch")
    template_matched: bool = Field(True, description="train the organism also on the pack's template-matched "
                                                     "data (a harmless twin of every harmful training instruction, "
                                                     "minimal pairs in further frames) and leave out harmless "
                                                     "prompts the base model itself declines; see the README")
    answer_opening: str = Field("Sure! ", max_length=40, description="put before the base model's own reply to "
                                                                     "every harmless training prompt, so answering "
                                                                     "opens with one token as refusing does ('' for "
                                                                     "none); see the README")
    comply_after_opening: int = Field(0, ge=0, le=512, description="train the organism also on this many harmful "
                                                                   "prompts with the answer opening given, scoring "
                                                                   "only the base model's next token, so an answer "
                                                                   "once opened goes on; see the README")
    lora_rank: int | None = Field(None, ge=1, le=64, description="train only low-rank adapters of this rank on "
                                                                 "the organism's decoder layers (default: the "
                                                                 "full weights)")
    opening_weight: float = Field(5.0, ge=1, le=20, description="loss weight of the first two reply tokens, "
                                                               "where the organism decides to refuse or answer")
    n_train: int = Field(64, ge=4, le=96, description="instructions per class for the mean difference")
    n_val: int = Field(32, ge=4, le=32, description="instructions per class for scoring candidates")
    n_test: int = Field(32, ge=4, le=32, description="held-out instructions per class for every reported rate")
    n_independent: int = Field(40, ge=1, le=40, description="minimal pairs of the independent set scored (each a "
                                                              "harmful request and its template-matched harmless twin)")
    max_new_tokens: int = Field(48, ge=8, le=256)
    max_kl: float = Field(0.1, gt=0, description="selection filter: KL on harmless prompts under ablation")
    max_layer_fraction: float = Field(0.8, gt=0, le=1)
    spare_first_token: bool = Field(True, description="leave each prompt's first token (an input-independent "
                                                      "attention sink in SmolLM2) out of every ablation")
    random_directions: int = Field(8, ge=0, le=64, description="random unit directions ablated the same way, "
                                                              "as a null for the cross-entropy cost")
    batch_size: int = Field(32, ge=1, le=256)
    judge_model: str = Field("claude-haiku-4-5", description="Anthropic model for the safety and fluency judge "
                                                             "(used only when ANTHROPIC_API_KEY is set)")
