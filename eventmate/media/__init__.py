"""Uploaded images: verification, re-encoding and storage (local files or Cloudinary)."""
