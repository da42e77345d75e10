# One image for every Soroka service and the operator: `soroka <service>` / `python -m soroka_operator`.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY services/ services/
COPY operator/ operator/
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10001 soroka \
 && useradd --system --uid 10001 --gid soroka --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin soroka
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
# Pods mount the rendered .env files here (ConfigMaps) and run with a read-only root filesystem.
RUN mkdir -p /etc/soroka && chown soroka:soroka /etc/soroka
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["soroka"]
CMD ["--help"]
