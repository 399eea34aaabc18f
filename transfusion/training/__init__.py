"""Training: data sources, EMA, schedules, resumable state, and the two training loops."""
