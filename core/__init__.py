# Before any of our dataclasses is made: their generated methods come compiled from the
# user cache folder instead of being compiled on every run (see classcache).
from .classcache import hook as _hook

_hook()
