"""What images cost: the published prices, a task's estimate before it pays, and its cap."""
