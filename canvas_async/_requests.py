"""The request bodies, under the name they had before the definitions took them in.

They live with their operations in :mod:`._operations`.
"""

from ._operations import (
    ChainOverride,
    NewAccount,
    NewRegApplication,
    NewWorkflow,
    RunMetadata,
    SchedulerUpdate,
)

__all__ = [
    "ChainOverride",
    "NewAccount",
    "NewRegApplication",
    "NewWorkflow",
    "RunMetadata",
    "SchedulerUpdate",
]
