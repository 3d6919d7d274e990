"""Evaluation panels: assignments, conflict declarations, scores and consensus, as entries on a chain.

``panel`` holds the pure rules (who may do what, what a sheet sums to), used
alike by the engine when it records an action and by the replay when it
re-judges one; ``sheet`` presents a panel to the people allowed to see it.
"""

from .panel import ACTIONS, Panel, Panels, spread_flag

__all__ = ["ACTIONS", "Panel", "Panels", "spread_flag"]
