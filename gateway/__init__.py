"""The Deep Chat LLM gateway."""
