"""Errors raised by the retrieval library.

    PromptsmithError                   (promptsmith.exceptions)
    └── RetrievalError
        ├── ExtractionError               one document could not be turned into text
        │   ├── UnsupportedFormat            not PDF, DOCX, HTML, Markdown or text
        │   ├── NoTextLayer                  a scanned PDF (images only): needs OCR
        │   ├── EncryptedDocument            password-protected
        │   └── CorruptDocument              the file does not parse
        ├── EmbeddingError                 the embedding model could not be loaded or run
        └── PartitionError                 bad chunk data for a partition (dimension, ids)

Every `ExtractionError` carries a stable `code` (for an ingestion job's per-document status)
and the `filename` it is about, so one bad upload never fails a whole batch silently.
"""

from __future__ import annotations

from promptsmith.exceptions import PromptsmithError


class RetrievalError(PromptsmithError):
    """Base class for retrieval errors."""


class ExtractionError(RetrievalError):
    code = "extraction_failed"

    def __init__(self, message: str, *, filename: str | None = None) -> None:
        self.message = message
        self.filename = filename
        prefix = f"{filename}: " if filename else ""
        super().__init__(prefix + message)


class UnsupportedFormat(ExtractionError):
    code = "unsupported_format"


class NoTextLayer(ExtractionError):
    code = "no_text_layer"


class EncryptedDocument(ExtractionError):
    code = "encrypted"


class CorruptDocument(ExtractionError):
    code = "corrupt_document"


class EmbeddingError(RetrievalError):
    """The embedding model could not be loaded or run."""


class PartitionError(RetrievalError):
    """Chunks that cannot go into a partition (wrong dimension, duplicate ids)."""
