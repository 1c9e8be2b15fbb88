# One image for the API, the workers and the migration job; the command picks the role.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY core core
COPY models models
COPY engine engine
COPY services services
COPY activities activities
COPY workflows workflows
COPY workers workers
COPY api api
COPY cli cli
COPY migrations migrations
RUN pip install . && useradd --system oddsmith
USER oddsmith
EXPOSE 8000
CMD ["oddsmith", "api"]
