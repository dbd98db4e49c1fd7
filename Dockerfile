# The exporter's image: `docker build -t k8s-dns-exporter:0.1.0 .`
#
# The first stage builds the wheels (the exporter's and its dependencies'); the
# final stage installs only those wheels, offline, into a virtual environment and
# runs as a numeric non-root user. Nothing at run time needs a shell, and the
# root filesystem can be mounted read-only (bytecode is compiled at install).
# tests/deploy/test_image.py replays these steps outside Docker.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY exporter ./exporter
RUN ["python", "-m", "pip", "wheel", "--no-cache-dir", "--wheel-dir", "/wheels", "/src"]

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/k8s-dns-exporter/bin:$PATH
RUN ["python", "-m", "venv", "--without-pip", "/opt/k8s-dns-exporter"]
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    ["python", "-m", "pip", "--python", "/opt/k8s-dns-exporter/bin/python", "install", "--no-cache-dir", "--no-index", "--find-links", "/wheels", "k8s-dns-exporter"]
USER 65532:65532
EXPOSE 9958
ENTRYPOINT ["/opt/k8s-dns-exporter/bin/k8s-dns-exporter"]
CMD ["serve"]
