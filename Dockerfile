# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies (TypeScript, the cap addon's toolchain), run with production
# dependencies and libpcap only. BASE_IMAGE: an official slim image of a current Node.js LTS.
ARG BASE_IMAGE=node:24-bookworm-slim

FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libpcap-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
COPY patches ./patches
COPY scripts/postinstall.sh ./scripts/postinstall.sh
# cap is an optional dependency: a failed build would drop it silently, so check it loads
RUN npm ci --no-audit --no-fund && node -e "require('cap')"
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="az-traffic-exporter" \
      org.opencontainers.image.description="Prometheus exporter of AWS data-transfer cost per host, zone and remote" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/az-traffic-exporter/az-traffic-exporter" \
      org.opencontainers.image.licenses="Apache-2.0"
# libpcap for capture. NET_RAW as a file capability of node, so that a non-root user can capture with
# only `--cap-add NET_RAW` (no root, no other capability).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 libcap2-bin \
 && setcap cap_net_raw+ep "$(readlink -f "$(command -v node)")" \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin aztraffic
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY demo ./demo
USER 10001:10001
EXPOSE 9977
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9977/-/healthy').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["serve"]
