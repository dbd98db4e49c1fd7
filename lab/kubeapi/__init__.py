"""An HTTPS server speaking the Kubernetes API, and the objects of a small cluster to load into it."""
