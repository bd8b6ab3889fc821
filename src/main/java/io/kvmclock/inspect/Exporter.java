package io.kvmclock.inspect;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The Prometheus text exposition of {@link Metrics} on http://HOST:PORT/metrics (Prometheus Java client 1.x). */
public final class Exporter implements AutoCloseable {
    private final HTTPServer server;

    private Exporter(HTTPServer server) {
        this.server = server;
    }

    /** Listens on {@code host:port} (port 0: any free port, see {@link #port()}). */
    public static Exporter start(String host, int port, Metrics metrics) {
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(metrics);
        try {
            return new Exporter(HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
        }
    }

    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        server.close();
    }
}
