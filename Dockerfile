# Builds the worker, the starter and the simulators into one small image; compose picks the
# command per service.
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Module downloads are cached in their own layer: code changes do not refetch them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/worker ./worker && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/starter ./starter && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sim ./sim

# Static binaries, no shell, non-root: nothing in the image but the three commands and CA
# certificates for HTTPS to JumpCloud, Authomize and Temporal Cloud.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/worker /out/starter /out/sim /usr/local/bin/
USER nonroot:nonroot
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/worker"]
