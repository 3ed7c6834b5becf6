"""Small DSP building blocks shared by features and mastering stages (no I/O, no rules)."""
