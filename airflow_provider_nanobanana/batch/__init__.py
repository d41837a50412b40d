"""Many images in one task: the items, where each stands, and the manifest."""
