"""Developer machine: `make run`."""

from .base import *
from .base import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
