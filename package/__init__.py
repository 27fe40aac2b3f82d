"""designed-alliance: turn a designed alliance into calendar invites and email."""

__version__ = "0.1.0"
