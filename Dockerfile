# syntax=docker/dockerfile:1
# kvfleet image: Bun runs the TypeScript sources directly, so there is no build
# step, only the production dependencies installed from bun.lock.
# The Bun version here must equal BUN_VERSION in .ci/run (test/deploy checks it).

FROM oven/bun:1.4.5-slim AS deps
WORKDIR /app
COPY package.json bun.lock ./
# --frozen-lockfile: fail instead of resolving anything the lock file does not pin.
RUN bun install --frozen-lockfile --production --ignore-scripts

FROM oven/bun:1.4.5-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    KVFLEET_IP=0.0.0.0
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
# The image's unprivileged user `bun` (uid 1000, gid 1000); Kubernetes runs it as runAsUser 1000.
USER bun
EXPOSE 1987
# SIGTERM starts a graceful drain (limits.drainTimeout, 20 s by default); give the
# container longer than that before it is killed (compose: stop_grace_period).
STOPSIGNAL SIGTERM
# Same command as package.json's start script.
CMD ["bun", "src/main.ts"]
