"""Landing finished jobs' images in S3, and reading input images from it."""
