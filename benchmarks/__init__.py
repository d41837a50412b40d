"""`make bench`: the provider measured side by side with what users would use instead."""
