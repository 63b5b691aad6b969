# Production images of the two services, built from the workspace in one multi-stage file.
# docker build --target task-manager -t taskwire/task-manager .
# docker build --target task-worker  -t taskwire/task-worker .
FROM node:24-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN npx --yes pnpm@9.15.9 install --frozen-lockfile \
 && npx --yes pnpm@9.15.9 exec tsc -b \
 && npx --yes pnpm@9.15.9 deploy --filter @taskwire/task-manager --prod /out/task-manager \
 && npx --yes pnpm@9.15.9 deploy --filter @taskwire/task-worker --prod /out/task-worker

FROM node:24-bookworm-slim AS task-manager
ENV NODE_ENV=production SERVER_ADDR=:8080
WORKDIR /app
COPY --from=build /out/task-manager /app
COPY --from=build /app/drizzle /drizzle
EXPOSE 8080
USER node
CMD ["node", "dist/main.js"]

FROM node:24-bookworm-slim AS task-worker
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out/task-worker /app
USER node
# nodeArgs of services/task-worker/package.json: a 2 MB young generation keeps an idle worker near
# 70 MiB (V8's default grows it to 16 MB on start-up allocations) at no measured CPU cost per task.
CMD ["node", "--max-semi-space-size=2", "dist/main.js"]
