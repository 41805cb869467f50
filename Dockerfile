# Presso with Debian's chromium-headless-shell and fonts. Not built or
# tested by CI, which has no container engine.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/presso ./cmd/presso

FROM debian:bookworm-slim
# tini runs as PID 1 and reaps the processes Chromium leaves behind; without
# an init process they stay as zombies in the container. The headless
# shell is the build of Chromium without a desktop browser around it: it
# renders the same documents at several times the rate of the chromium
# package (see BENCHMARKS.md).
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium-headless-shell tini ca-certificates \
      fonts-dejavu-core fonts-liberation fonts-noto-cjk fonts-noto-color-emoji \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 presso
COPY --from=build /out/presso /usr/local/bin/presso
USER presso
WORKDIR /home/presso
# Listening beyond loopback needs auth.keys: mount a configuration file and
# start with `serve --config /etc/presso/presso.yaml`.
ENV PRESSO_SERVER__ADDR=0.0.0.0:8080 \
    PRESSO_RENDERER__CHROMIUM__BIN=/usr/bin/chromium-headless-shell
EXPOSE 8080 9091
ENTRYPOINT ["/usr/bin/tini", "--", "presso"]
CMD ["serve", "--config", "/etc/presso/presso.yaml"]
