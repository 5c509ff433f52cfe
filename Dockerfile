# Coffre in a container: the static executable of scripts/release on a slim Debian, run as an unprivileged user with
# its data directory on a volume. Build: docker build -t coffre .   Run: docker run -p 8443:8443 -v coffre-data:/data coffre
# (see docs/testing-with-coffre.md). The builder stage needs the Swift 6.3 image; the final image has no Swift in it.

FROM swift:6.3-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libsqlite3-dev libssl-dev libp11-kit-dev python3 binutils \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/release

FROM debian:bookworm-slim
# libcrypto (OpenSSL 3) and SQLite are the libraries the executable needs besides glibc, libstdc++ and zlib (in the base
# image); curl serves the health check.
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 libsqlite3-0 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin coffre \
    && mkdir -p /data && chown coffre:coffre /data && chmod 0700 /data
COPY --from=build /src/dist/coffre /usr/local/bin/coffre
COPY --from=build /src/dist/licenses /usr/share/doc/coffre/licenses
USER coffre
VOLUME ["/data"]
EXPOSE 8443
# Liveness: the process answers (TLS is Coffre's own CA; -k because the check is of the process, not of trust).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["curl", "-fsk", "https://127.0.0.1:8443/healthz"]
ENTRYPOINT ["coffre"]
CMD ["serve", "--data", "/data", "--bind", "0.0.0.0", "--port", "8443"]
