"""The Corefile: parsed as CoreDNS reads it (``parse``), and what it configures, linted (``lint``)."""
