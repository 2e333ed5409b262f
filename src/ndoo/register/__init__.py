"""The national register of choices: immutable events, derived records, snapshots.

The public functions other parts use are re-exported here; the modules hold them.
"""

from ndoo.register.choices import (
    Choice,
    ChoiceChange,
    History,
    current_choice,
    history,
    set_choice,
)
from ndoo.register.records import current_snapshot, snapshot
from ndoo.register.type2 import Type2Report, import_type2
from ndoo.register.vocabulary import QUESTION, Channel, ProxyRole, State

__all__ = [
    "QUESTION",
    "Channel",
    "Choice",
    "ChoiceChange",
    "History",
    "ProxyRole",
    "State",
    "Type2Report",
    "current_choice",
    "current_snapshot",
    "history",
    "import_type2",
    "set_choice",
    "snapshot",
]
