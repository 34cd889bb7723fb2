"""Where and how long a tool call runs: cost classes, worker-process pools, output budgets.

The registry owns these (see ``docs/architecture.md``, "Execution model"): every front door gets
the same deadlines, pools and output cap without knowing about them.
"""
