"""Model facts from the built-in table and from providers' model listings; the token estimate."""

from __future__ import annotations

from threadline.agent.providers.limits import ModelFacts, from_listing, from_table
from threadline.agent.tokens import IMAGE_TOKENS, message_tokens, text_tokens


def test_the_table_knows_common_models() -> None:
    assert from_table("gpt-4o-mini") == ModelFacts(128_000, True)
    assert from_table("openai/gpt-4.1-nano").window == 1_047_576
    assert from_table("claude-sonnet-4-5") == ModelFacts(200_000, True)
    assert from_table("llama3.2-vision:11b").vision is True
    assert from_table("llama3.1:8b") == ModelFacts(128_000, False)
    assert from_table("o3-mini").window == 200_000
    assert from_table("my-own-model") == ModelFacts()


def test_listings_say_what_they_say() -> None:
    anthropic = {"id": "claude-x", "max_input_tokens": 200_000, "capabilities": {"image_input": {"supported": True}}}
    assert from_listing(anthropic) == ModelFacts(200_000, True)
    openrouter = {"id": "a/b", "context_length": 32_000, "architecture": {"input_modalities": ["text"]}}
    assert from_listing(openrouter) == ModelFacts(32_000, False)
    assert from_listing({"id": "v", "max_model_len": 8192}) == ModelFacts(8192, None)
    assert from_listing({"id": "l", "meta": {"n_ctx_train": 4096}}) == ModelFacts(4096, None)
    assert from_listing({"id": "x", "context_length": "lots", "capabilities": None}) == ModelFacts()
    assert from_listing({"id": "x", "context_length": True}) == ModelFacts()


def test_the_estimate_counts_bytes_images_and_calls() -> None:
    assert text_tokens("abcd" * 10) == 10
    assert text_tokens("日本語") == 3  # 9 bytes: other scripts count more per character
    plain = message_tokens({"role": "user", "content": "abcd"})
    assert message_tokens({"role": "user", "content": "abcd", "images": [{}]}) == plain + IMAGE_TOKENS
    call = {"role": "assistant", "content": "", "tool_calls": [{"id": "1", "name": "read_file",
                                                               "arguments": {"path": "a" * 400}}]}
    assert message_tokens(call) > 100
