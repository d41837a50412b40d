"""What a paying task keeps across its tries so that it never pays twice."""
