"""promptsmith: XML prompt authoring and grounded course Q&A, as a self-hosted service."""

__version__ = "0.1.0"
