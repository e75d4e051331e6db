"""Models of the integrations app, one module per concern, all importable from here."""

from .jobs import ExtractionJob as ExtractionJob
from .jobs import ExtractionJobStatus as ExtractionJobStatus
