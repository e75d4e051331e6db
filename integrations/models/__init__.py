"""Models of the integrations app, one module per concern, all importable from here."""

from .dead_letters import DeadLetter as DeadLetter
from .jobs import ExtractionJob as ExtractionJob
from .jobs import ExtractionJobStatus as ExtractionJobStatus
from .modules import Module as Module
from .modules import ModuleKind as ModuleKind
from .modules import ModuleScope as ModuleScope
from .modules import ModuleStatus as ModuleStatus
