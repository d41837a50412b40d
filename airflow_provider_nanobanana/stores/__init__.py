"""Object stores other than S3: each one's way to write an image that shows only when whole."""
