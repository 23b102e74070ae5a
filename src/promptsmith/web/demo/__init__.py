"""Demo content for `make demo`: an assistant prompt and two short course documents."""
