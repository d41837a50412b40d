"""Image bodies: recognising their format and downloading them verified."""
