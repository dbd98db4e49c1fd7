"""A small stdlib Kubernetes API client (node mode): credentials and HTTPS list/watch."""
