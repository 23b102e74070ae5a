"""Course-document retrieval: Extract -> Chunk -> Embed -> Index, then hybrid search.

    from promptsmith.retrieval import (
        EmbeddedStore, Partition, RelevanceFloor, get_embedder, prepare_document,
    )

    embedder = get_embedder(settings.data_dir)                 # lazy, thread-safe singleton
    store = EmbeddedStore(embedder.dimension, loader=load_partition_from_db)

    prepared = prepare_document(data, document_id="doc-42", embedder=embedder,
                                filename="week1.pdf")          # raises ExtractionError
    store.add(Partition(institution_id, course_id), prepared.records)

    result = store.search(Partition(institution_id, course_id), question,
                          embedder.embed_query(question), k=8)
    if not RelevanceFloor().is_relevant(result):
        ...  # ragOnly: "nothing relevant in the course material"

Heavy dependencies (onnxruntime, onnx, pypdf, python-docx) are imported on first use.
"""

from promptsmith.retrieval.chunking import Chunk, ChunkingOptions, chunk_document
from promptsmith.retrieval.embeddings import (
    Embedder,
    HashingEmbedder,
    MiniLMEmbedder,
    get_embedder,
    model_cache_dir,
)
from promptsmith.retrieval.errors import (
    CorruptDocument,
    EmbeddingError,
    EncryptedDocument,
    ExtractionError,
    NoTextLayer,
    PartitionError,
    RetrievalError,
    UnsupportedFormat,
)
from promptsmith.retrieval.extract import Block, ExtractedDocument, detect_format, extract
from promptsmith.retrieval.pipeline import PreparedDocument, prepare_document
from promptsmith.retrieval.relevance import RelevanceFloor, calibrate_threshold
from promptsmith.retrieval.store import (
    ChunkRecord,
    ChunkStore,
    EmbeddedStore,
    Partition,
    SearchHit,
    SearchMode,
    SearchResult,
    records_from_chunks,
)

__all__ = [
    "Block",
    "Chunk",
    "ChunkRecord",
    "ChunkStore",
    "ChunkingOptions",
    "CorruptDocument",
    "EmbeddedStore",
    "Embedder",
    "EmbeddingError",
    "EncryptedDocument",
    "ExtractedDocument",
    "ExtractionError",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "NoTextLayer",
    "Partition",
    "PartitionError",
    "PreparedDocument",
    "RelevanceFloor",
    "RetrievalError",
    "SearchHit",
    "SearchMode",
    "SearchResult",
    "UnsupportedFormat",
    "calibrate_threshold",
    "chunk_document",
    "detect_format",
    "extract",
    "get_embedder",
    "model_cache_dir",
    "prepare_document",
    "records_from_chunks",
]
