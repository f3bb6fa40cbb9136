# syntax=docker/dockerfile:1
# One image for every Berth process: `node bin/berth.js controller|receiver|agent`, and the CLI
# (`node bin/berth.js hosts`, `... host add`, ...). Built from a checkout: docker build -t berth .
#
# Build stage: dependencies (with devDependencies: the Prisma CLI and its offline schema engine are needed
# to apply migrations, see the `migrate` service in docker-compose.yml), Prisma Client generation
# (npm's postinstall), and the SWC build of every app and library. A C compiler is present here so that
# @berth/posix builds its small N-API addon (nanosecond timestamps, device nodes).
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund \
 && npm run build

# Runtime stage: the built tree without the compiler. rsync is not needed by Berth itself.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    CHECKPOINT_DISABLE=1
WORKDIR /app
COPY --from=build /app /app
# The receiver keeps its repository here (a volume in docker-compose.yml); the agent its credential.
RUN mkdir -p /var/lib/berth/repository /var/lib/berth/agent
EXPOSE 8080 7443
ENTRYPOINT ["node", "bin/berth.js"]
CMD ["--help"]
