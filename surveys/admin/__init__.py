"""The admin: building surveys, reading results and exports, running draws, the audit log."""

from surveys.admin import draws, surveys

__all__ = ["draws", "surveys"]
