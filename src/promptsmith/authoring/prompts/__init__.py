"""System prompts and request templates (markdown), loaded by `authoring.templates`."""
