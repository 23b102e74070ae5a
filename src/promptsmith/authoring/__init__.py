"""Prompt authoring: XML prompts, drafting, editing and the streaming assistant."""
