# The Heru server image: one image for every role (`serve`, `api`, `ingest`, `worker`,
# and the provisioning commands). docker-compose.yml runs the full stack with it.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# The dashboard (web/) is bundled into dist/web by scripts/build-web.ts in `prepare`.
COPY web ./web
COPY scripts ./scripts
# `prepare` also builds a ready embedded database from the migrations
# (dist/pgdata-template: a quick first `serve` without DATABASE_URL).
COPY migrations ./migrations
# `npm ci` builds dist/ (the prepare script); the dev tools are dropped afterwards.
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    HERU_DATA_DIR=/var/lib/heru
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY deploy ./deploy
RUN mkdir -p /var/lib/heru && chown node:node /var/lib/heru
USER node
EXPOSE 8000 8883
ENTRYPOINT ["node", "bin/heru.js"]
CMD ["serve"]
