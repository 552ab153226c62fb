# syntax=docker/dockerfile:1
# ws-sidecar image: one image for `run` (the default), `webhook`, `inject` and `drain`.
# Base: Node 24 LTS on Alpine, pinned by tag and OCI index digest (multi-arch). Bump both together.

FROM node:24.18.0-alpine3.24@sha256:a0b9bf06e4e6193cf7a0f58816cc935ff8c2a908f81e6f1a95432d679c54fbfd AS build
WORKDIR /src
# The native addon's toolchain (node-gyp: python3, make, a C++ compiler); build stage only.
RUN apk add --no-cache python3 make g++
COPY package.json package-lock.json ./
# Scripts off: `prepare` would build before the sources are copied in.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY proxy ./proxy
RUN npm run build
# The native data plane (--data-plane auto picks it): built here, against this image's Node
# headers, into dist/proxy, so the runtime stage needs no compiler. --strict: no silent fallback.
RUN npm run build:native -- --strict

FROM node:24.18.0-alpine3.24@sha256:a0b9bf06e4e6193cf7a0f58816cc935ff8c2a908f81e6f1a95432d679c54fbfd AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; the npm cache stays in the build cache, not in a layer.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /src/dist/proxy ./dist/proxy
# Numeric, so `runAsNonRoot` can verify it; 65532 (distroless "nonroot"), the uid the injector
# gives the sidecar. No passwd entry is needed: nothing at run time looks the user up.
USER 65532:65532
# data, admin, webhook
EXPOSE 8080 9090 8443
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz on the admin port.
ENTRYPOINT ["node", "/app/dist/proxy/main.js"]
