"""mixqc."""
