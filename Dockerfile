# Multi-stage: build with dev dependencies (TypeScript, the cap addon's toolchain), run with production
# dependencies and libpcap only. BASE_IMAGE: an official slim image of a current Node.js LTS.
# Few layers on purpose: each one is a full copy of the file system on some storage drivers (vfs).
ARG BASE_IMAGE=node:26-bookworm-slim
# the build stage may use another image of the same Node.js (with build tools or caches)
ARG BUILD_IMAGE=${BASE_IMAGE}

FROM ${BUILD_IMAGE} AS build
# what .dockerignore lets in: package files, patches, the postinstall script, the netlink addon's
# source, sources, demo, data (no WORKDIR: one layer less to copy)
COPY . /src/
RUN cd /src \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libpcap-dev \
 && npm ci --no-audit --no-fund \
 # cap is an optional dependency: a failed build would drop it silently, so check that it loads
 && node -e "require('cap')" \
 # so is the netlink addon (a flow's socket at its first packet, pods behind NAT)
 && node -e "require('./native/build/Release/aztraffic_netlink.node')" \
 && npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 # DuckDB (an optional engine of analyze, 70 MB of native code) is no part of the exporter the image runs
 && rm -rf node_modules/@duckdb \
 && mkdir -p /app/native/build/Release && cp native/build/Release/aztraffic_netlink.node /app/native/build/Release/ \
 && cp -r node_modules dist demo data package.json /app/

FROM ${BASE_IMAGE}
# the image's settings come first: every instruction copies the whole file system on some storage
# drivers (vfs), and before the application is copied in that file system is the small base
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="az-traffic-exporter" \
      org.opencontainers.image.description="Prometheus exporter of AWS data-transfer cost per host, zone and remote" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/az-traffic-exporter/az-traffic-exporter" \
      org.opencontainers.image.licenses="Apache-2.0"
EXPOSE 9977
# follows the exporter's own --web.listen-address and --web.config.file (flags, AZTRAFFIC_* or config file)
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["node", "/app/dist/healthcheck.js"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["serve"]
# libpcap for capture. NET_RAW as a file capability of node, so that a non-root user can capture with
# only `--cap-add NET_RAW` (no root, no other capability).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 libcap2-bin \
 && setcap cap_net_raw+ep "$(readlink -f "$(command -v node)")" \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin aztraffic
USER 10001:10001
# last: the application (owned by root, read-only to the user that runs it)
COPY --from=build /app /app
