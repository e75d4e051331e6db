"""Models of the integrations app, one module per concern, all importable from here."""

from .dead_letters import DeadLetter as DeadLetter
from .jobs import ExtractionJob as ExtractionJob
from .jobs import ExtractionJobStatus as ExtractionJobStatus
