# The jig image: the gateway of exported flows (`jig up --headless`) and the
# built-in executors (`jig executor --uses builtin:Name`), as referenced by
# `jig export kubernetes|compose`. Go executors get their own images, from
# the Dockerfile `jig new` puts in their folder.
#
#   docker build -t jig/jig:latest .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static, so it runs on distroless/static; /workspace is created here so a
# fresh named volume mounted there is owned by the non-root user.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/jig ./cmd/jig \
    && mkdir -p /out/workspace

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/jig /usr/local/bin/jig
COPY --from=build --chown=65532:65532 /out/workspace /workspace
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/jig"]
CMD ["--help"]
