"""The cluster readers: one function per source, each returning a frozen value."""
